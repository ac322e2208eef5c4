#!/usr/bin/env bash
# Debian's CJK typefaces (and a monospaced Latin face) that the synthetic ID cards are printed in
# (tools/idcard_synth.py TYPEFACES), so the OCR tests and benchmarks measure the reader on faces other than
# the one it was tuned on.
#
#   bash .ci/fonts.sh
#
# Does nothing when every font is installed. Otherwise installs the packages with apt-get (as root, or
# through sudo without a password). On a machine where that is impossible it says so and exits 0: the tests
# needing a missing face then skip, naming the package. An apt-get that is there but fails is an error.
set -euo pipefail

PACKAGES=(fonts-noto-cjk fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-uming fonts-arphic-ukai
          fonts-dejavu-core)
FILES=(/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc /usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc
       /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
       /usr/share/fonts/truetype/arphic/uming.ttc /usr/share/fonts/truetype/arphic/ukai.ttc
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

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        log "WARNING: fonts are missing and cannot be installed (not root, no password-less sudo);" \
            "the ID-card tests printing in them will be skipped"
        exit 0
    fi
fi
if ! command -v apt-get >/dev/null; then
    log "WARNING: fonts are missing and this machine has no apt-get; the ID-card tests printing in them" \
        "will be skipped"
    exit 0
fi

log "installing ${PACKAGES[*]} with apt-get"
start=$SECONDS
"${sudo[@]}" apt-get update -qq >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${PACKAGES[@]}" >&2
log "installed in $((SECONDS - start)) s"
