"""Why names with rare characters fail on the hard level: each recogniser on the same name crops.

    python -m bench.name_recognisers [--seed 7] [--front 200] [--model NAME=REC.onnx:DICT.txt ...]

Renders ``--front`` hard-level front photos (tools/idcard_synth.py), reads each with the kiosk's pipeline
(find, rectify, OCR) and cuts the name's value crop exactly as the name re-read does. Every recogniser then
reads the same crops: the shipped one (rapidocr's PP-OCRv6 small) and any other PP-OCR CTC recogniser given
with ``--model`` (ONNX file and its character list, one character per line, e.g. from another wheel). It
prints per recogniser the greedy exact-match rate, split by names with and without the generator's rare
characters; for the misses, how often the right character was among the top 5 at the step read wrong and
the log-likelihood gap to the reading; and the rate when the shipped recogniser's likelihoods and another's
are summed (a two-model ensemble). For the shipped recogniser it also reports the kiosk's own name re-read
(kiosk.idcard.rules.reread_name) without and with the shape check (devices/glyph_check.py) on the same
crops: exact rate, names the check broke (read right, changed to wrong) and wrong names not highlighted.
Results: stdout and bench/out/name_recognisers_seed<N>.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
from functools import partial
from pathlib import Path
from typing import Any

from devices.glyph_check import GlyphChecker
from devices.idcard import IdCardRecogniser, name_value_crop, to_card_lines
from devices.ocr import RapidOcrEngine
from devices.second_reader import OnnxCtcReader
from kiosk.idcard import ctc
from kiosk.idcard.model import LOW_CONFIDENCE, CardResult
from kiosk.idcard.rules import reread_name
from tools.idcard_synth import RARE_GIVEN, RARE_SURNAMES, REFERENCE_DATE, make_sample

OUT_DIR = Path(__file__).resolve().parent / "out"
TOP = 5
SHIPPED = "PP-OCRv6 small (shipped)"


def _miss_detail(matrix: ctc.CharMatrix, truth: str, read: str) -> dict[str, Any]:
    """For a reading as long as the truth: was the right character in the top 5 where it went wrong, and
    how much less likely than the reading is the truth (log-likelihood, nats); a truth with a character
    the recogniser does not know at all is counted apart."""
    if any(ch not in matrix.index for ch in truth):
        return {"truth": truth, "read": read, "outside_alphabet": True, "in_top5": None, "gap": None}
    _, options = ctc.greedy(matrix, TOP)
    in_top = None
    if len(read) == len(truth) == len(options):
        in_top = all(t in opts for t, r, opts in zip(truth, read, options, strict=True) if t != r)
    gap = round(ctc.score(matrix, read) - ctc.score(matrix, truth), 2)
    return {"truth": truth, "read": read, "outside_alphabet": False, "in_top5": in_top, "gap": gap}


def run(seed: int, n_front: int, extra: dict[str, OnnxCtcReader]) -> dict[str, Any]:
    engine = RapidOcrEngine()
    reader = IdCardRecogniser(engine, today=REFERENCE_DATE)
    glyphs = GlyphChecker()
    models: dict[str, Any] = {SHIPPED: engine, **extra}
    rare = set(RARE_SURNAMES + RARE_GIVEN)
    rows: list[dict[str, Any]] = []
    for index in range(n_front):
        sample = make_sample(seed, "front", "hard", index)
        card = reader.read(sample.image).card_image
        crop = None if card is None else name_value_crop(card, to_card_lines(engine.recognise(card)))
        if crop is None:
            continue
        truth = sample.truth["name"]
        matrices = {name: model.char_matrices([crop])[0] for name, model in models.items()}
        reads = {name: ctc.greedy(m)[0] for name, m in matrices.items()}
        shipped = matrices[SHIPPED]
        pairs = {}
        for name, other in matrices.items():
            if name != SHIPPED:
                both = [shipped, other]
                candidates = set()
                for m in both:
                    text, options = ctc.greedy(m, 3)
                    candidates |= ctc.one_substitution_candidates(text, options)
                choice = ctc.choose(both, candidates)
                pairs[name] = choice.text if choice else None
        rereads = {}
        for label, checks in (("reread", []), ("reread + shape check", [partial(glyphs.evidence, crop)])):
            result = CardResult("front", {"name": reads[SHIPPED]}, {"name": 1.0})
            reread_name(result, [shipped], checks)
            rereads[label] = (result.fields["name"], result.confidence["name"] < LOW_CONFIDENCE)
        rows.append(
            {
                "truth": truth,
                "rereads": rereads,
                "rare": bool(rare & set(truth)),
                "reads": reads,
                "with_shipped": pairs,
                "misses": {
                    name: _miss_detail(matrices[name], truth, read)
                    for name, read in reads.items()
                    if read != truth
                },
            }
        )
    report: dict[str, Any] = {"seed": seed, "crops": len(rows), "recognisers": {}}
    for name in models:
        misses = [r["misses"][name] for r in rows if name in r["misses"]]
        judged = [m for m in misses if m["in_top5"] is not None]
        report["recognisers"][name] = {
            "exact": sum(r["reads"][name] == r["truth"] for r in rows) / len(rows),
            "exact_rare": _rate([r for r in rows if r["rare"]], name),
            "exact_common": _rate([r for r in rows if not r["rare"]], name),
            "misses": len(misses),
            "outside_alphabet": sum(m["outside_alphabet"] for m in misses),
            "right_char_in_top5": sum(m["in_top5"] for m in judged) / len(judged) if judged else None,
            "median_gap_nats": statistics.median(gaps)
            if (gaps := [m["gap"] for m in misses if m["gap"]])
            else None,
            "miss_examples": [f"{m['truth']}→{m['read']}" for m in misses[:12]],
        }
    report["shipped_rereads"] = {
        label: {
            "exact": sum(r["rereads"][label][0] == r["truth"] for r in rows) / len(rows),
            "broken": sum(r["reads"][SHIPPED] == r["truth"] != r["rereads"][label][0] for r in rows),
            "wrong_not_highlighted": sum(
                r["rereads"][label][0] != r["truth"] and not r["rereads"][label][1] for r in rows
            ),
        }
        for label in rows[0]["rereads"]
    }
    report["summed_with_shipped_exact"] = {
        name: sum(r["with_shipped"][name] == r["truth"] for r in rows) / len(rows) for name in extra
    }
    return report


def _rate(rows: list[dict[str, Any]], name: str) -> float | None:
    return sum(r["reads"][name] == r["truth"] for r in rows) / len(rows) if rows else None


def _model_arg(text: str) -> tuple[str, OnnxCtcReader]:
    name, _, paths = text.partition("=")
    model, _, characters = paths.partition(":")
    if not (name and model and characters):
        raise argparse.ArgumentTypeError("expected NAME=REC.onnx:DICT.txt")
    return name, OnnxCtcReader(name, Path(model), Path(characters))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--front", type=int, default=200)
    parser.add_argument("--model", type=_model_arg, action="append", default=[])
    args = parser.parse_args(argv)
    report = run(args.seed, args.front, dict(args.model))
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"name_recognisers_seed{args.seed}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"seed {report['seed']}: {report['crops']} name crops (hard level)")
    for name, data in report["recognisers"].items():
        top = data["right_char_in_top5"]
        print(
            f"  {name}: exact {data['exact']:.1%} (rare {data['exact_rare']:.1%}, common "
            f"{data['exact_common']:.1%}); {data['misses']} misses ({data['outside_alphabet']} with a "
            f"character outside its alphabet); right character in its top {TOP}: "
            f"{'-' if top is None else f'{top:.0%}'}, median gap {data['median_gap_nats']} nats"
        )
        print(f"    {' '.join(data['miss_examples'])}")
    for label, data in report["shipped_rereads"].items():
        print(
            f"  {SHIPPED}, {label}: exact {data['exact']:.1%}; broke {data['broken']} read right; "
            f"{data['wrong_not_highlighted']} wrong names not highlighted"
        )
    for name, rate in report["summed_with_shipped_exact"].items():
        print(f"  shipped + {name}, likelihoods summed: exact {rate:.1%}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
