"""ID cards as the kiosk reads them live: frame after frame of a held card until the reader settles.

    python -m bench.idcard_held --seed S --faces arphic --level hard --cards 60 [--frame 1920x1080]

The per-photo bench (bench.idcard_ocr) scores one picture per card. At the kiosk, ``CardReader`` is fed
one analysed frame after another (``IdCardRecogniser.analyse``, as ui.card_capture does) and settles when
two consistent readings agree on every field, or gives up after twelve and offers its best guess for
review. Each card's first frame is the per-photo bench's picture of it; the next ones
(``tools.idcard_synth.held_frame``) are the same card with the hand drifting a little, the same light and
new sensor noise. Reported per card: what the reader settled on (every field right; wrong fields it shows
without a highlight; right fields highlighted), how many frames it took, how often it gave up, next to the
first frame read alone, on the same cards in the same run.
Results go to stdout and bench/out/idcard_held_seed<S>_<faces>_<frame>_<level>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path
from typing import Any

from devices.idcard import IdCardRecogniser
from devices.ocr import RapidOcrEngine
from devices.second_reader import make_second_reader
from kiosk.idcard.model import BACK_FIELDS, FRONT_FIELDS, CardResult
from kiosk.idcard.reader import CardReader
from tools.idcard_synth import (
    HELD_OUT_FAMILIES,
    REFERENCE_DATE,
    TYPEFACES,
    Sample,
    faces_named,
    held_frame,
    make_sample,
    missing_typefaces,
)

OUT_DIR = Path(__file__).resolve().parent / "out"
MAX_FRAMES = 16  # the reader gives up after 12 readings; frames it cannot read (card cut, moving) add some


def _score(result: CardResult | None, truth: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    fields = {n: (result.fields.get(n, "") if result is not None else "") for n in names}
    low = set(result.low_confidence_fields()) if result is not None else set(names)
    wrong = [n for n in names if fields[n] != truth[n]]
    return {
        "whole": not wrong,
        "wrong": {n: f"{truth[n]} → {fields[n]}" for n in wrong},
        "wrong_unhighlighted": [n for n in wrong if fields[n] and n not in low],
        "right_highlighted": sum(n in low for n in names if n not in wrong),
    }


def read_held(recogniser: IdCardRecogniser, sample: Sample, max_frames: int = MAX_FRAMES) -> dict[str, Any]:
    """Feeds the card's frames to a fresh CardReader until it settles or gives up; the first frame's own
    reading is kept for comparison."""
    reader = CardReader(side=sample.side)
    names = FRONT_FIELDS if sample.side == "front" else BACK_FIELDS
    first: CardResult | None = None
    state, settled, frames, centred, asked = "unsettled", None, 0, 0.0, 0
    for k in range(max_frames):
        image = sample.image if k == 0 else held_frame(sample, k, centred)
        reading = recogniser.analyse(image, sample.side)
        frames = k + 1
        if k == 0:
            first = reading.result
        update = reader.feed(reading)
        if update.state in ("done", "gave_up"):
            state, settled = update.state, update.result
            break
        if update.prompt.key == "ocr.prompt.incomplete":  # the person moves the card toward the centre
            centred, asked = min(1.0, centred + 0.25), asked + 1
    return {
        "state": state,
        "frames": frames,
        "asked_to_centre": asked,
        "settled": _score(settled, sample.truth, names),
        "first_frame": _score(first, sample.truth, names),
    }


def _summary(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    n = len(rows)
    return {
        "whole_card": sum(r[key]["whole"] for r in rows) / n,
        "wrong_unhighlighted": sum(len(r[key]["wrong_unhighlighted"]) for r in rows),
        "right_highlighted": sum(r[key]["right_highlighted"] for r in rows),
    }


def run(
    seed: int, faces: list[str], level: str, cards: int, frame: tuple[int, int], side: str
) -> dict[str, Any]:
    engine = RapidOcrEngine()
    engine.load()
    second = make_second_reader()
    second.load()
    recogniser = IdCardRecogniser(engine, today=REFERENCE_DATE, second=second)
    rows = []
    for index in range(cards):
        sample = make_sample(seed, side, level, index, faces, frame_size=frame)
        row = read_held(recogniser, sample)
        row.update(index=index, face=sample.style.face, truth=sample.truth)
        rows.append(row)
    return {
        "seed": seed,
        "faces": faces,
        "held_out": all(TYPEFACES[f].family in HELD_OUT_FAMILIES for f in faces),
        "level": level,
        "side": side,
        "frame": f"{frame[0]}x{frame[1]}",
        "cards": cards,
        "settled": _summary(rows, "settled"),
        "first_frame": _summary(rows, "first_frame"),
        "states": {s: sum(r["state"] == s for r in rows) for s in ("done", "gave_up", "unsettled")},
        "asked_to_centre": sum(r["asked_to_centre"] > 0 for r in rows),
        "frames_median": statistics.median(r["frames"] for r in rows),
        "frames_max": max(r["frames"] for r in rows),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--faces", required=True, help="typefaces or families, comma-separated")
    parser.add_argument("--level", choices=("easy", "hard"), default="hard")
    parser.add_argument("--side", choices=("front", "back"), default="front")
    parser.add_argument("--cards", type=int, default=60)
    parser.add_argument("--frame", default="1280x720", help="camera frame size, WxH (a kiosk's: 1920x1080)")
    args = parser.parse_args(argv)
    faces = faces_named(args.faces)
    if unknown := [f for f in faces if f not in TYPEFACES]:
        parser.error(f"unknown typeface {', '.join(unknown)}; known: {', '.join(TYPEFACES)}")
    if missing := missing_typefaces([*faces, "dejavu-mono"]):  # else cards print in a fallback face
        parser.error("typefaces not installed (bash .ci/fonts.sh): " + ", ".join(f.key for f in missing))
    width, _, height = args.frame.partition("x")
    report = run(args.seed, faces, args.level, args.cards, (int(width), int(height)), args.side)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    name = f"idcard_held_seed{args.seed}_{args.faces.replace(',', '+')}_{args.frame}_{args.level}_{args.side}"
    (OUT_DIR / f"{name}.json").write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(
        f"{args.cards} {args.level} {args.side}s, {', '.join(faces)} "
        f"(held out: {report['held_out']}), {args.frame}"
    )
    for key in ("settled", "first_frame"):
        s = report[key]
        print(
            f"  {key:12} whole card {s['whole_card']:.1%}, "
            f"wrong without a highlight {s['wrong_unhighlighted']}, "
            f"right fields highlighted {s['right_highlighted']}"
        )
    print(
        f"  reader: {report['states']}, frames median {report['frames_median']}, max {report['frames_max']}, "
        f"asked to centre the card {report['asked_to_centre']}"
    )
    for r in report["rows"]:
        if r["settled"]["wrong"] or r["first_frame"]["wrong"]:
            print(
                f"    {r['index']:3} {r['face']:12} {r['state']:9} {r['frames']:2} frames  "
                f"settled {r['settled']['wrong']}"
                f" unhl {r['settled']['wrong_unhighlighted']}  first {r['first_frame']['wrong']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
