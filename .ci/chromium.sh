#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser test (tests/test_dashboard_browser.py), plus a CJK font so
# that its screenshot shows Chinese rather than empty boxes.
#
#   bash .ci/chromium.sh
#
# Does nothing when chromium is already installed. Otherwise installs the packages with apt-get (as root, or
# through sudo without a password). On a machine where that is impossible (no apt-get, no root) it says so
# and exits 0: the browser test then skips, naming the reason. An apt-get that is there but fails (no
# network, a broken mirror) is an error.
set -euo pipefail

PACKAGES=(chromium fonts-droid-fallback)

log() { echo "chromium.sh: $*" >&2; }

if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    log "chromium already installed"
    exit 0
fi

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        log "WARNING: chromium is missing and cannot be installed (not root, no password-less sudo);" \
            "the dashboard's browser test will be skipped"
        exit 0
    fi
fi
if ! command -v apt-get >/dev/null; then
    log "WARNING: chromium is missing and this machine has no apt-get; the dashboard's browser test will" \
        "be skipped"
    exit 0
fi

log "installing ${PACKAGES[*]} with apt-get"
start=$SECONDS
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
log "installed in $((SECONDS - start)) s: $(chromium --version 2>/dev/null)"
