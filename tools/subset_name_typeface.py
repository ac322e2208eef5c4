"""Makes assets/fonts/NotoSansCJKsc-Regular-names.otf, the typeface the name shape check draws guesses in.

    pip install fonttools
    python -m tools.subset_name_typeface NotoSansCJK-VF.otf.ttc

The source is Noto Sans CJK's variable collection as Noto publishes it (also shipped unmodified in the
``manimgx-fonts-cjk`` wheel). Kept: the Simplified Chinese face at regular weight (400), and only the
ideographs the recogniser can propose (its character list, in the rapidocr wheel) — a guess outside that
list never reaches the check — which takes 19 MB of five faces down to about 4 MB. Not a run-time step.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from fontTools import subset
from fontTools.ttLib import TTCollection
from fontTools.varLib import instancer

from devices.glyph_check import NAME_TYPEFACE, is_ideograph
from devices.ocr import RapidOcrEngine

SIMPLIFIED_CHINESE_FACE = 2  # JP, KR, SC, TC, HK in Noto's collection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("collection", type=Path, help="NotoSansCJK-VF.otf.ttc")
    args = parser.parse_args(argv)
    face = TTCollection(str(args.collection)).fonts[SIMPLIFIED_CHINESE_FACE]
    font = instancer.instantiateVariableFont(face, {"wght": 400}, updateFontNames=False)
    for record in font["name"].names:
        if record.nameID == 2:
            record.string = "Regular"
        elif record.nameID == 4:
            record.string = "Noto Sans CJK SC Regular (subset)"
    # The recogniser's alphabet comes with its probabilities: score a blank crop to get it.
    alphabet = RapidOcrEngine().char_matrices([np.full((48, 48, 3), 255, np.uint8)])[0].alphabet
    options = subset.Options()
    options.layout_features, options.name_IDs = [], ["*"]
    options.notdef_outline, options.hinting = False, False  # "no glyph" must draw nothing
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(ch) for ch in alphabet if is_ideograph(ch)])
    subsetter.subset(font)
    font.save(str(NAME_TYPEFACE))
    print(f"{NAME_TYPEFACE.name}: {NAME_TYPEFACE.stat().st_size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
