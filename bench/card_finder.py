"""Where the card finder puts the card, against where the synthetic photo drew it.

    python -m bench.card_finder                                    # tuning faces, seeds 8, 11, 12: 720 frames
    python -m bench.card_finder --seeds 10707 --faces arphic,lxgw --count 30 --frame 1920x1080

For each seed, level (easy, hard) and side, ``--count`` photos from tools/idcard_synth.py; for each, the
largest distance between a corner ``devices.card_finder.find_card`` returns and the true corner (either way
round: the 180° turn is settled later from the text). A photo whose error is over 2 % of the frame's width
is **lost**: the rectified card is not the card, and every field of it is read wrong or not at all. Reports
lost photos (named, to look at), median and p95 corner error in frame pixels, and median ms per call.
Results: stdout and bench/out/card_finder.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from devices.card_finder import find_card
from tools.idcard_synth import faces_named, make_sample, missing_typefaces

OUT_DIR = Path(__file__).resolve().parent / "out"
LOST_AT = 0.02  # of the frame's width


def corner_error(found: np.ndarray, true: np.ndarray) -> float:
    """Largest corner distance, in pixels, with the corners matched in order or turned by 180°."""
    return min(float(np.linalg.norm(np.roll(found, k, axis=0) - true, axis=1).max()) for k in (0, 2))


def run(seeds: list[int], faces: list[str], count: int, frame: tuple[int, int]) -> dict[str, Any]:
    errors: list[float] = []
    ms: list[float] = []
    lost: list[dict[str, Any]] = []
    for seed in seeds:
        for level in ("easy", "hard"):
            for side in ("front", "back"):
                for index in range(count):
                    sample = make_sample(seed, side, level, index, faces, frame_size=frame)
                    started = time.perf_counter()
                    location = find_card(sample.image)
                    ms.append((time.perf_counter() - started) * 1000)
                    error = float("inf") if location is None else corner_error(location.quad, sample.quad)
                    errors.append(error)
                    if error > LOST_AT * frame[0]:
                        lost.append({"seed": seed, "level": level, "side": side, "index": index,
                                     "error_px": None if location is None else round(error, 1)})  # fmt: skip
    found = [e for e in errors if np.isfinite(e)]
    return {
        "seeds": seeds,
        "faces": faces,
        "frame": f"{frame[0]}x{frame[1]}",
        "photos": len(errors),
        "lost": len(lost),
        "lost_photos": lost,
        "corner_error_px": {
            "median": round(statistics.median(found), 2) if found else None,
            "p95": round(float(np.percentile(found, 95)), 2) if found else None,
        },
        "median_ms": round(statistics.median(ms), 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", default="8,11,12", help="comma-separated")
    parser.add_argument("--faces", default="droid,noto,wqy", help="typefaces or families, comma-separated")
    parser.add_argument("--count", type=int, default=60, help="photos per seed, level and side")
    parser.add_argument("--frame", default="1280x720", help="WxH")
    args = parser.parse_args(argv)
    faces = faces_named(args.faces)
    if missing := missing_typefaces(faces):
        parser.error("typefaces not installed (bash .ci/fonts.sh): " + ", ".join(f.key for f in missing))
    width, _, height = args.frame.partition("x")
    report = run([int(s) for s in args.seeds.split(",")], faces, args.count, (int(width), int(height)))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "card_finder.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(
        f"{report['photos']} photos ({', '.join(faces)}; seeds {args.seeds}; {report['frame']}): "
        f"lost {report['lost']}, corner error median {report['corner_error_px']['median']} px, "
        f"p95 {report['corner_error_px']['p95']} px, {report['median_ms']} ms median"
    )
    for photo in report["lost_photos"]:
        print(f"  lost: {photo}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
