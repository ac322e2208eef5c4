#!/usr/bin/env bash
# Debian's CJK typefaces (and a monospaced Latin face) that the synthetic ID cards are printed in
# (tools/idcard_synth.py TYPEFACES), so the OCR tests and benchmarks measure the reader on faces other than
# the one it was tuned on.
#
#   bash .ci/fonts.sh
#
# Does nothing when every font is installed; otherwise installs what is missing, or says why
# it cannot and exits 0 so that the tests needing it skip (.ci/apt.sh).
set -euo pipefail

PACKAGES=(fonts-noto-cjk fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-uming fonts-arphic-ukai
          fonts-lxgw-wenkai fonts-dejavu-core)
FILES=(/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc
       /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
       /usr/share/fonts/truetype/arphic/uming.ttc /usr/share/fonts/truetype/arphic/ukai.ttc
       /usr/share/fonts/truetype/lxgw-wenkai/LXGWWenKai-Regular.ttf
       /usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf)

log() { echo "fonts.sh: $*" >&2; }

missing=0
for file in "${FILES[@]}"; do
    [[ -f $file ]] || missing=1
done
if [[ $missing -eq 0 ]]; then
    log "fonts already installed"
    exit 0
fi

# shellcheck source=apt.sh
source "$(dirname "$0")/apt.sh"
apt_install_or_skip fonts.sh "the ID-card tests printing in them will be skipped" "${PACKAGES[@]}"
