#!/usr/bin/env bash
# A virtual X server and a synthetic-input tool for the real-input walk (tests/test_touch_walk.py): Xvfb,
# xdotool (press, move and release the pointer at screen coordinates, through the XTEST extension), and the
# libraries Qt's xcb platform plugin loads (libxcb-cursor0 and friends; without them Qt refuses to start on X).
#
#   bash .ci/xvfb.sh
#
# Does nothing when everything is installed; otherwise installs what is missing, or says why
# it cannot and exits 0 so that the tests needing it skip (.ci/apt.sh).
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

# shellcheck source=apt.sh
source "$(dirname "$0")/apt.sh"
apt_install_or_skip xvfb.sh "the real-input walk will be skipped" "${missing[@]}"
