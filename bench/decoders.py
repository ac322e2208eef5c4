"""QR decoder benchmark: speed on 1080p frames with and without a code, read rate on real photos, and the
frame-to-verdict latency of the app's scanner.

    python -m bench.decoders [--photos DIR] [--repeat N] [--frames N] [--out FILE]

The photos default to ``$KIOSK_QR_PHOTOS`` or ``../shared/data/qr-photos`` beside the repository
(``NAME.png|webp|jpg`` with the expected text in ``NAME.txt``); they are read where they are, never copied.
The synthetic frames are generated with a fixed seed, so two runs measure the same images.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from devices.camera import desk_background, paste_code, qr_module_image
from devices.image_file import UnreadableImage, read_image
from devices.qr import CascadeDecoder, OpenCvDecoder, ZbarDecoder, ZxingDecoder, to_grey
from kiosk.codes import default_registry
from kiosk.idnumber import check_digit
from kiosk.scanning import Decoder, Scanner

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PHOTOS = REPO_ROOT.parent / "shared" / "data" / "qr-photos"
DEFAULT_OUT = REPO_ROOT / "bench" / "out" / "decoders.json"
PHOTO_SUFFIXES = (".png", ".webp", ".jpg", ".jpeg", ".bmp")
WIDTH, HEIGHT = 1920, 1080


# --- synthetic 1080p frames ---------------------------------------------------------------------------------


@dataclass
class SyntheticFrame:
    image: np.ndarray
    text: str | None  # None: no code in the frame
    params: dict[str, float] = field(default_factory=dict)


def _sample_text(rng: np.random.Generator, i: int) -> str:
    kind = i % 4
    if kind == 0:
        first17 = (
            "".join(str(d) for d in rng.integers(0, 10, 6)) + "19850615" + f"{int(rng.integers(0, 1000)):03d}"
        )
        return first17 + check_digit(first17)
    if kind == 1:
        return f"https://example.gov.cn/health?id={int(rng.integers(10**9, 10**10))}"
    if kind == 2:
        return f"TICKET-{int(rng.integers(0, 10**4)):04d}"
    # a long signed-pass-like payload (base45-ish alphabet), a dense code
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
    return "HC1:" + "".join(alphabet[j] for j in rng.integers(0, len(alphabet), 220))


def _camera_effects(image: np.ndarray, rng: np.random.Generator, blur: float, noise: float) -> np.ndarray:
    if blur > 0:
        image = cv2.GaussianBlur(image, (0, 0), blur)
    grain = rng.normal(0, noise, (*image.shape[:2], 1)).astype(np.float32)
    return np.clip(image.astype(np.float32) + grain, 0, 255).astype(np.uint8)


def synthetic_frames(count: int, seed: int = 2024) -> tuple[list[SyntheticFrame], list[SyntheticFrame]]:
    """``count`` 1080p frames with one code each (varied size, position, rotation, tilt, blur, noise,
    contrast, some inverted as on a dark-mode phone) and as many frames of such scenes without one."""
    rng = np.random.default_rng(seed)
    backgrounds = [desk_background(WIDTH, HEIGHT, seed=s) for s in range(4)]
    with_code, without = [], []
    for i in range(count):
        text = _sample_text(rng, i)
        code = qr_module_image(text, module_px=8)
        contrast = float(rng.choice([1.0, 1.0, 0.6, 0.35]))
        inverted = bool(rng.random() < 0.15)
        if contrast < 1.0:  # a washed-out print or a dim screen: dark modules lifted towards the paper
            code = (255 - (255 - code.astype(np.float32)) * contrast).astype(np.uint8)
        if inverted:
            code = 255 - code
        size = float(rng.uniform(130, 600))
        params = {
            "size": size,
            "angle": float(rng.uniform(0, 360)),
            "tilt": float(rng.uniform(-0.3, 0.3)),
            "blur": float(rng.choice([0.0, 0.8, 1.5, 2.2])),
            "noise": float(rng.uniform(2, 9)),
            "contrast": contrast,
            "inverted": float(inverted),
        }
        margin = size * 0.75
        center = (float(rng.uniform(margin, WIDTH - margin)), float(rng.uniform(margin, HEIGHT - margin)))
        scene = paste_code(backgrounds[i % 4], code, center, size, params["angle"], params["tilt"])
        image = _camera_effects(scene, rng, params["blur"], params["noise"])
        with_code.append(SyntheticFrame(image, text, params))
        empty = _camera_effects(
            backgrounds[(i + 1) % 4], rng, float(rng.choice([0.0, 0.8, 1.5])), float(rng.uniform(2, 9))
        )
        without.append(SyntheticFrame(empty, None, {}))
    return with_code, without


# --- real photos --------------------------------------------------------------------------------------------


@dataclass
class Photo:
    name: str
    image: np.ndarray
    expected: str


def load_photos(folder: Path) -> list[Photo]:
    photos = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in PHOTO_SUFFIXES:
            continue
        expected_file = path.with_suffix(".txt")
        if not expected_file.is_file():
            continue
        try:
            image = read_image(path)
        except UnreadableImage as err:
            print(f"  skipping {path.name}: {err}", file=sys.stderr)
            continue
        photos.append(Photo(path.name, image, expected_file.read_bytes().decode("utf-8")))
    return photos


# --- measurement --------------------------------------------------------------------------------------------


def _stats(samples_ms: list[float]) -> dict[str, float]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"median_ms": statistics.median(ordered), "p95_ms": p95, "n": len(ordered)}


def _timed(
    fn: Callable[[np.ndarray], object], images: list[np.ndarray], repeat: int
) -> tuple[list, list[float]]:
    results, times = [], []
    for r in range(repeat):
        for image in images:
            start = time.perf_counter()
            out = fn(image)
            times.append((time.perf_counter() - start) * 1000.0)
            if r == 0:
                results.append(out)
    return results, times


def candidates() -> list[Decoder]:
    decoders: list[Decoder] = [ZxingDecoder(), OpenCvDecoder(), OpenCvDecoder(aruco=True)]
    try:
        decoders.append(ZbarDecoder())
    except Exception as err:  # pyzbar or the zbar system library missing
        print(f"  zbar not measured: {err}", file=sys.stderr)
    decoders.append(CascadeDecoder())
    return decoders


def bench_decoder(
    decoder: Decoder,
    with_code: list[SyntheticFrame],
    without: list[SyntheticFrame],
    photos: list[Photo],
    repeat: int,
) -> dict:
    decoder.decode(with_code[0].image)  # warm-up (lazy initialisation in some libraries)
    found, code_ms = _timed(decoder.decode, [f.image for f in with_code], repeat)
    synthetic_read = sum(f.text in {s.text for s in syms} for f, syms in zip(with_code, found, strict=True))
    empty_found, empty_ms = _timed(decoder.decode, [f.image for f in without], repeat)
    false_positives = sum(bool(syms) for syms in empty_found)
    photo_hits, photo_misses, photo_ms = 0, [], []
    for photo in photos:
        start = time.perf_counter()
        texts = {s.text for s in decoder.decode(photo.image)}
        photo_ms.append((time.perf_counter() - start) * 1000.0)
        if photo.expected in texts:
            photo_hits += 1
        else:
            photo_misses.append(photo.name)
    return {
        "decoder": decoder.name,
        "with_code": _stats(code_ms),
        "without_code": _stats(empty_ms),
        "synthetic_read": synthetic_read,
        "synthetic_total": len(with_code),
        "false_positives": false_positives,
        "photos_read": photo_hits,
        "photos_total": len(photos),
        "photo_misses": photo_misses,
        "photo_ms": _stats(photo_ms) if photo_ms else None,
    }


def bench_scanner(with_code: list[SyntheticFrame], without: list[SyntheticFrame], repeat: int) -> dict:
    scanner = Scanner(CascadeDecoder(), default_registry())
    scanner.scan(with_code[0].image)
    verdicts, code_ms = _timed(scanner.scan, [f.image for f in with_code], repeat)
    _, empty_ms = _timed(scanner.scan, [f.image for f in without], repeat)
    return {
        "with_code": _stats(code_ms),
        "without_code": _stats(empty_ms),
        "frames_with_verdict": sum(bool(v) for v in verdicts),
    }


def bench_cascade_stages(
    with_code: list[SyntheticFrame], without: list[SyntheticFrame], photos: list[Photo]
) -> dict:
    """Which cascade stage read each frame / photo, and what each stage costs alone on a code-free frame."""
    cascade = CascadeDecoder()
    read_by: dict[str, dict[str, int]] = {"synthetic": {}, "photos": {}}
    for key, items in (("synthetic", [f.image for f in with_code]), ("photos", [p.image for p in photos])):
        for image in items:
            cascade.decode(image)
            stage = cascade.last_stage or "none"
            read_by[key][stage] = read_by[key].get(stage, 0) + 1
    greys = [to_grey(f.image) for f in without]
    cost = {}
    for name, stage in cascade.stages:
        _, ms = _timed(stage, greys, 1)
        cost[name] = _stats(ms)
    return {"read_by_stage": read_by, "no_code_ms_per_stage": cost}


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "versions": {
            dist: _version(dist)
            for dist in ("zxing-cpp", "opencv-python-headless", "numpy", "segno", "pyzbar")
        },
        "opencv_threads": cv2.getNumThreads(),
    }


def _row(r: dict) -> str:
    w, e = r["with_code"], r["without_code"]
    photos = f"{r['photos_read']}/{r['photos_total']}" if r["photos_total"] else "n/a"
    return (
        f"| {r['decoder']:<12} | {w['median_ms']:7.1f} | {w['p95_ms']:7.1f} | {e['median_ms']:7.1f} | "
        f"{e['p95_ms']:7.1f} | {r['synthetic_read']:>3}/{r['synthetic_total']:<3} | {photos:>7} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.decoders", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--photos",
        type=Path,
        default=Path(os.environ.get("KIOSK_QR_PHOTOS", DEFAULT_PHOTOS)),
        help="folder of real QR photos (NAME.png|webp|jpg + NAME.txt); default $KIOSK_QR_PHOTOS or "
        "../shared/data/qr-photos beside the repository",
    )
    parser.add_argument("--repeat", type=int, default=3, help="timing passes over the synthetic frames")
    parser.add_argument(
        "--frames", type=int, default=60, help="synthetic 1080p frames with (and without) a code"
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    args = parser.parse_args(argv)
    if args.frames < 1 or args.repeat < 1:
        parser.error("--frames and --repeat must be at least 1")

    info = machine()
    print(f"machine: {info['cpu_count']} CPUs, {info['platform']}, Python {info['python']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    with_code, without = synthetic_frames(args.frames)
    photos: list[Photo] = []
    if args.photos.is_dir():
        photos = load_photos(args.photos)
    else:
        print(f"  no photo folder at {args.photos}: photo read rate not measured", file=sys.stderr)
    print(
        f"{len(with_code)} frames {WIDTH}x{HEIGHT} with a code and {len(without)} without, x{args.repeat} "
        f"passes; {len(photos)} real photos\n"
    )

    results = [bench_decoder(d, with_code, without, photos, args.repeat) for d in candidates()]
    print("| decoder      | code ms | code    | no-code | no-code | synth   | photos  |")
    print("|              | median  | p95     | median  | p95     | read    | read    |")
    print("|--------------|--------:|--------:|--------:|--------:|--------:|--------:|")
    for r in results:
        print(_row(r))
    fps = [r["decoder"] for r in results if r["false_positives"]]
    if fps:
        print(f"\nfalse positives on code-free frames: {', '.join(fps)}")
    for r in results:
        if r["photo_misses"]:
            print(f"{r['decoder']} misses {len(r['photo_misses'])} photos: {' '.join(r['photo_misses'])}")

    scan = bench_scanner(with_code, without, args.repeat)
    print(
        f"\nframe to verdict (Scanner + cascade + default registry, 1080p): with a code median "
        f"{scan['with_code']['median_ms']:.1f} ms, p95 {scan['with_code']['p95_ms']:.1f} ms; without a code "
        f"median {scan['without_code']['median_ms']:.1f} ms, p95 {scan['without_code']['p95_ms']:.1f} ms"
    )

    stages = bench_cascade_stages(with_code, without, photos)
    print("\ncascade stages (no-code 1080p ms alone: median / p95; frames read by it: synthetic, photos):")
    read_by = stages["read_by_stage"]
    for name, cost in stages["no_code_ms_per_stage"].items():
        print(
            f"  {name:<20} {cost['median_ms']:5.1f} / {cost['p95_ms']:5.1f} ms; read "
            f"{read_by['synthetic'].get(name, 0)}, {read_by['photos'].get(name, 0)}"
        )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": info,
        "frames": {"width": WIDTH, "height": HEIGHT, "count": len(with_code), "repeat": args.repeat},
        "photos": {"count": len(photos)},
        "decoders": results,
        "scanner_cascade": scan,
        "cascade_stages": stages,
    }
    args.out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"\nwritten {args.out.relative_to(REPO_ROOT) if args.out.is_relative_to(REPO_ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
