#!/usr/bin/env bash
# A virtual X server and a synthetic-input tool for the real-input walk (tests/test_touch_walk.py): Xvfb,
# xdotool (press, move and release the pointer at screen coordinates, through the XTEST extension), and the
# libraries Qt's xcb platform plugin loads (libxcb-cursor0 and friends; without them Qt refuses to start on X).
#
#   bash .ci/xvfb.sh
#
# Does nothing when everything is installed. Otherwise installs the packages with apt-get (as root, or
# through sudo without a password). On a machine where that is impossible (no apt-get, no root) it says so
# and exits 0: the walk then skips, naming the reason. An apt-get that is there but fails (no network, a
# broken mirror) is an error.
set -euo pipefail

PACKAGES=(xvfb xdotool xauth libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-image0 libxcb-render-util0
          libxcb-shape0 libxcb-xkb1 libxcb-randr0 libxcb-xinerama0 libxkbcommon-x11-0 libegl1 libgl1
          libfontconfig1 libdbus-1-3)

log() { echo "xvfb.sh: $*" >&2; }

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    log "Xvfb, xdotool and Qt's xcb libraries already installed"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        log "WARNING: ${missing[*]} missing and cannot be installed (not root, no password-less sudo);" \
            "the real-input walk will be skipped"
        exit 0
    fi
fi
if ! command -v apt-get >/dev/null; then
    log "WARNING: ${missing[*]} missing and this machine has no apt-get; the real-input walk will be skipped"
    exit 0
fi

log "installing ${missing[*]} with apt-get"
start=$SECONDS
"${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >&2
log "installed in $((SECONDS - start)) s"
