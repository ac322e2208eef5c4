#!/usr/bin/env bash
# Debian's Chromium for the dashboard's browser test (tests/test_dashboard_browser.py), plus a CJK font so
# that its screenshot shows Chinese rather than empty boxes.
#
#   bash .ci/chromium.sh
#
# Does nothing when chromium is already installed; otherwise installs what is missing, or says why
# it cannot and exits 0 so that the tests needing it skip (.ci/apt.sh).
set -euo pipefail

PACKAGES=(chromium fonts-droid-fallback)

log() { echo "chromium.sh: $*" >&2; }

if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    log "chromium already installed"
    exit 0
fi

# shellcheck source=apt.sh
source "$(dirname "$0")/apt.sh"
apt_install_or_skip chromium.sh "the dashboard's browser test will be skipped" "${PACKAGES[@]}"
