"""QR decoder benchmark: read rates on material kept apart from tuning, speed on 1080p frames with and
without a code, and the frame-to-verdict latency of the app's scanner.

    python -m bench.decoders [--photos DIR] [--renders N] [--repeat N] [--frames N] [--wechat-models DIR]
    python -m bench.decoders --short        # latency only (zxing and the cascade), for a quiet re-run
    python -m bench.decoders --decoders zxing,cascade   # only the named candidates

Read rates, each candidate on the same pictures in one run, held-apart sets first:

- the real photos (``$KIOSK_QR_PHOTOS`` or ``../shared/data/qr-photos``: ``NAME.png|webp|jpg`` with the
  text in ``NAME.txt``, read in place, never copied), split by a hash of the file name into a reporting
  half and a tuning half (``photo_half``);
- camera-like renderings (``tools.qr_photos``) of the held-apart seed and of the tuning seed, 800x600, and
  1080p ones of the held-apart seed.

The synthetic timing frames are generated with a fixed seed, so two runs measure the same images.
"""

from __future__ import annotations

import argparse
import hashlib
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

from devices.camera.demo import desk_background, paste_code, qr_module_image
from devices.image_file import UnreadableImage, read_image
from devices.qr import (
    CascadeDecoder,
    OpenCvDecoder,
    Stage,
    ZbarDecoder,
    ZxingDecoder,
    dedupe,
    to_grey,
)
from kiosk.codes import default_registry
from kiosk.idnumber import check_digit
from kiosk.scanning import DecodedSymbol, Decoder, Scanner
from tools.qr_photos import REPORT_SEED, TUNE_SEED, QrPhoto, oracle_read, qr_photo_set

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
    # Renderings only: whether the geometry oracle (``tools.qr_photos.oracle_read``) reads it, i.e. whether
    # enough of its modules survived for the code's error correction; ``None`` for real photos.
    readable: bool | None = None
    effects: tuple[str, ...] = ()  # renderings only: what the renderer drew, plus "cut-by-edge"


def _cut_by_edge(photo: QrPhoto) -> bool:
    """Whether part of the symbol (quiet zone aside) lies outside the picture."""
    height, width = photo.image.shape[:2]
    centres = photo.centres[4:-4, 4:-4]
    xs, ys = centres[..., 0], centres[..., 1]
    return bool(((xs < 0) | (xs > width - 1) | (ys < 0) | (ys > height - 1)).any())


def photo_half(name: str) -> str:
    """``report`` or ``tune``, fixed by a hash of the file's stem: the same photo always falls in the same
    half, whatever else is in the folder. New decoder choices are tuned on ``tune`` only."""
    return "report" if hashlib.sha256(Path(name).stem.encode("utf-8")).digest()[0] % 2 else "tune"


def renderings(count: int, seed: int, width: int = 800, height: int = 600) -> list[Photo]:
    rendered = qr_photo_set(count, seed, width, height)
    return [
        Photo(
            f"render-{seed}-{i}",
            r.image,
            r.text,
            oracle_read(r) == r.text,
            r.effects + (("cut-by-edge",) if _cut_by_edge(r) else ()),
        )
        for i, r in enumerate(rendered)
    ]


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
    return {"median_ms": statistics.median(ordered), "p95_ms": p95, "max_ms": ordered[-1], "n": len(ordered)}


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


class PassDecoder:
    """One zxing-cpp pass on a preprocessed picture, as a candidate of its own."""

    def __init__(self, name: str, fn: Callable[[np.ndarray], list[DecodedSymbol]]) -> None:
        self.name = name
        self._fn = fn

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        grey = to_grey(image)
        return [] if grey is None else self._fn(grey)


class WeChatDecoder:
    """OpenCV's WeChat QR detector (SSD CNN detection, CNN super-resolution, its own ZXing port), for the
    benchmark only: it needs an OpenCV contrib build whose ``wechat_qrcode`` loads the Caffe models (OpenCV
    4.x; 5.x wants ONNX models) and the four model files in ``model_dir``."""

    name = "wechat"

    def __init__(self, model_dir: Path) -> None:
        factory = getattr(cv2, "wechat_qrcode_WeChatQRCode", None)
        if factory is None:
            raise ImportError(f"OpenCV {cv2.__version__} has no wechat_qrcode module (needs a contrib build)")
        files = [
            model_dir / f for f in ("detect.prototxt", "detect.caffemodel", "sr.prototxt", "sr.caffemodel")
        ]
        self._detector = factory(*(str(f) for f in files))

    def decode(self, image: np.ndarray) -> list[DecodedSymbol]:
        grey = to_grey(image)
        return [] if grey is None else self.decode_grey(grey)

    def decode_grey(self, grey: np.ndarray) -> list[DecodedSymbol]:
        try:
            payloads, points = self._detector.detectAndDecode(grey)
        except Exception:  # a library error counts as "not read"
            return []
        out = []
        for text, quad in zip(payloads, points, strict=False):
            corners = tuple((float(x), float(y)) for x, y in np.asarray(quad).reshape(-1, 2))
            if text:
                out.append(DecodedSymbol(text, "QRCode", corners))
        return dedupe(out)


def _passes() -> list[Decoder]:
    """zxing-cpp variants: other binarisers and flags, and single passes on preprocessed pictures."""
    local = ZxingDecoder()
    fixed_bin = ZxingDecoder(binarizer="BoolCast")
    clahe = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8))

    def upscaled(grey: np.ndarray) -> list[DecodedSymbol]:
        return local.decode_grey(cv2.resize(grey, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC))

    def adaptive(grey: np.ndarray) -> list[DecodedSymbol]:
        return fixed_bin.decode_grey(
            cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 31, 5)
        )

    return [
        ZxingDecoder(binarizer="GlobalHistogram", name="zxing-global"),
        ZxingDecoder(binarizer="FixedThreshold", name="zxing-fixed"),
        ZxingDecoder(try_downscale=False, name="zxing-no-downscale"),
        ZxingDecoder(try_rotate=False, try_invert=False, name="zxing-no-rot-inv"),
        ZxingDecoder(is_pure=True, name="zxing-pure"),
        PassDecoder("zxing-up2x", upscaled),
        PassDecoder("zxing-clahe", lambda g: local.decode_grey(clahe.apply(g))),
        PassDecoder("zxing-adaptive", adaptive),
        PassDecoder(
            "zxing-median-glob",
            lambda g: ZxingDecoder(binarizer="GlobalHistogram").decode_grey(cv2.medianBlur(g, 3)),
        ),
    ]


def previous_cascade() -> CascadeDecoder:
    """The cascade as it was before stage 6 took its cheaper unsharp mask (two box filters for the Gaussian)
    and left out zxing-cpp's downscaled pyramid: the baseline of this comparison."""
    cascade = CascadeDecoder(stages=CascadeDecoder.default_stages(cheap_sharpen=False))
    cascade.name = "cascade-before"
    return cascade


def budget_only_cascade() -> CascadeDecoder:
    """The baseline with the grid stages' time budget and without the finder stage: what the budget alone
    costs in reads."""
    cascade = CascadeDecoder(stages=CascadeDecoder.default_stages(finders=False))
    cascade.name = "cascade-budget-only"
    return cascade


def candidates(wechat_models: Path | None, short: bool = False) -> list[Decoder]:
    if short:
        return [ZxingDecoder(), previous_cascade(), CascadeDecoder()]
    decoders: list[Decoder] = [ZxingDecoder(), *_passes(), OpenCvDecoder(), OpenCvDecoder(aruco=True)]
    try:
        decoders.append(ZbarDecoder())
    except Exception as err:  # pyzbar or the zbar system library missing
        print(f"  zbar not measured: {err}", file=sys.stderr)
    wechat = None
    if wechat_models is not None:
        try:
            wechat = WeChatDecoder(wechat_models)
            decoders.append(wechat)
        except Exception as err:
            print(f"  wechat not measured: {err}", file=sys.stderr)
    decoders += [previous_cascade(), budget_only_cascade(), CascadeDecoder()]
    if wechat is not None:
        with_wechat: list[Stage] = [*CascadeDecoder.default_stages(), ("wechat", wechat.decode_grey)]
        cascade = CascadeDecoder(stages=with_wechat)
        cascade.name = "cascade+wechat"
        decoders.append(cascade)
    return decoders


@dataclass
class ReadSet:
    name: str
    items: list[Photo]


def read_rate(decoder: Decoder, items: list[Photo]) -> dict:
    misses, ms, cpu_ms = [], [], []
    for item in items:
        start, cpu = time.perf_counter(), time.thread_time()
        texts = {s.text for s in decoder.decode(item.image)}
        ms.append((time.perf_counter() - start) * 1000.0)
        cpu_ms.append((time.thread_time() - cpu) * 1000.0)
        if item.expected not in texts:
            misses.append(item.name)
    result = {
        "read": len(items) - len(misses),
        "total": len(items),
        "misses": misses,
        "ms": _stats(ms),
        "cpu_ms": _stats(cpu_ms),
    }
    readable = [item for item in items if item.readable]
    if readable:
        result["readable_read"] = sum(item.name not in misses for item in readable)
        result["readable_total"] = len(readable)
    return result


def bench_decoder(
    decoder: Decoder,
    with_code: list[SyntheticFrame],
    without: list[SyntheticFrame],
    sets: list[ReadSet],
    repeat: int,
) -> dict:
    decoder.decode(with_code[0].image)  # warm-up (lazy initialisation in some libraries)
    found, code_ms = _timed(decoder.decode, [f.image for f in with_code], repeat)
    synthetic_read = sum(f.text in {s.text for s in syms} for f, syms in zip(with_code, found, strict=True))
    empty_found, empty_ms = _timed(decoder.decode, [f.image for f in without], repeat)
    return {
        "decoder": decoder.name,
        "with_code": _stats(code_ms),
        "without_code": _stats(empty_ms),
        "synthetic_read": synthetic_read,
        "synthetic_total": len(with_code),
        "false_positives": sum(bool(syms) for syms in empty_found),
        "reads": {rs.name: read_rate(decoder, rs.items) for rs in sets if rs.items},
    }


def interleaved_no_code(
    decoders: list[Decoder], without: list[SyntheticFrame], repeat: int
) -> dict[str, float]:
    """Median ms per code-free frame of each decoder, the decoders taking turns on every frame (in the other
    order on every other pass), so that a load change on a shared machine hits them alike."""
    times: dict[str, list[float]] = {d.name: [] for d in decoders}
    for r in range(repeat):
        order = decoders if r % 2 == 0 else decoders[::-1]
        for frame in without:
            for decoder in order:
                start = time.perf_counter()
                decoder.decode(frame.image)
                times[decoder.name].append((time.perf_counter() - start) * 1000.0)
    return {name: statistics.median(ms) for name, ms in times.items()}


def why_missed(items: list[Photo], misses: list[str]) -> dict:
    """The renders a decoder misses sorted as *lost* (the oracle cannot read them either) or *missed* (the
    oracle reads them), overall and per effect drawn."""
    missed_names = set(misses)
    lost = [item for item in items if not item.readable]
    missed = [item for item in items if item.readable and item.name in missed_names]
    effects = sorted({e for item in items for e in item.effects})
    return {
        "renders": len(items),
        "lost": len(lost),
        "missed": len(missed),
        "missed_3_effects_or_more": sum(
            len([e for e in item.effects if e != "cut-by-edge"]) >= 3 for item in missed
        ),
        "per_effect": {
            e: {
                "in": sum(e in item.effects for item in items),
                "lost": sum(e in item.effects for item in lost),
                "readable": sum(e in item.effects for item in items if item.readable),
                "missed": sum(e in item.effects for item in missed),
            }
            for e in effects
        },
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
    without: list[SyntheticFrame], sets: list[ReadSet], with_code: list[SyntheticFrame] | None = None
) -> dict:
    """Which cascade stage read each picture, and what each stage costs alone on code-free 1080p and 720p
    frames and on the 1080p frames with a code (the suspect and grid stages are timed after the primary
    stage ran on the same frame, as in the cascade)."""
    cascade = CascadeDecoder()
    read_by: dict[str, dict[str, int]] = {}
    for rs in sets:
        counts: dict[str, int] = {}
        for item in rs.items:
            cascade.decode(item.image)
            stage = cascade.last_stage or "none"
            counts[stage] = counts.get(stage, 0) + 1
        read_by[rs.name] = counts
    cost: dict[str, dict[str, dict[str, float]]] = {}
    runs = [("1080p", without, (WIDTH, HEIGHT)), ("720p", without, (1280, 720))]
    if with_code:
        runs.append(("1080p with a code", with_code, (WIDTH, HEIGHT)))
    for label, frames, size in runs:
        greys = [to_grey(cv2.resize(f.image, size, interpolation=cv2.INTER_AREA)) for f in frames]
        per_stage: dict[str, list[float]] = {name: [] for name, _ in cascade.stages}
        for grey in greys:
            for name, stage in cascade.stages:
                start = time.perf_counter()
                stage(grey)
                per_stage[name].append((time.perf_counter() - start) * 1000.0)
        cost[label] = {name: _stats(ms) for name, ms in per_stage.items()}
    return {"read_by_stage": read_by, "ms_per_stage": cost}


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
            for dist in (
                "zxing-cpp",
                "opencv-python-headless",
                "opencv-contrib-python-headless",
                "numpy",
                "segno",
                "pyzbar",
            )
        },
        "opencv_threads": cv2.getNumThreads(),
    }


def _read_cell(r: dict, key: str) -> str:
    got = r["reads"].get(key)
    return f"{got['read']}/{got['total']}" if got else "n/a"


def print_table(results: list[dict], set_names: list[str]) -> None:
    head = ["decoder", "code ms median", "code ms p95", "no-code ms median", "no-code ms p95", "synth read"]
    print("| " + " | ".join(head + set_names) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1 + len(set_names))) + "|")
    for r in results:
        w, e = r["with_code"], r["without_code"]
        cells = [
            r["decoder"],
            f"{w['median_ms']:.1f}",
            f"{w['p95_ms']:.1f}",
            f"{e['median_ms']:.1f}",
            f"{e['p95_ms']:.1f}",
            f"{r['synthetic_read']}/{r['synthetic_total']}",
        ] + [_read_cell(r, name) for name in set_names]
        print("| " + " | ".join(cells) + " |")


def read_sets(args: argparse.Namespace) -> list[ReadSet]:
    """The pictures of the read rates, the held-apart ones first."""
    photos: list[Photo] = []
    if args.photos.is_dir():
        photos = load_photos(args.photos)
    else:
        print(f"  no photo folder at {args.photos}: photo read rates not measured", file=sys.stderr)
    n = args.renders
    report_seed = args.report_seed
    hd_seed = report_seed + 1  # held apart too; its own seed, not a repeat of the 800x600 codes
    return [
        ReadSet("photos report half", [p for p in photos if photo_half(p.name) == "report"]),
        ReadSet(f"renders seed {report_seed}", renderings(n, report_seed)),
        ReadSet(f"1080p renders seed {hd_seed}", renderings(max(n // 4, 1), hd_seed, WIDTH, HEIGHT)),
        ReadSet("photos tune half", [p for p in photos if photo_half(p.name) == "tune"]),
        ReadSet(f"renders seed {TUNE_SEED}", renderings(n, TUNE_SEED)),
    ]


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
    parser.add_argument(
        "--renders",
        type=int,
        default=200,
        help="camera-like 800x600 renderings per seed (a quarter at 1080p)",
    )
    parser.add_argument(
        "--wechat-models",
        type=Path,
        default=None,
        help="folder with WeChat's detect/sr .prototxt/.caffemodel: measures OpenCV's WeChat detector "
        "(needs an OpenCV 4.x contrib build)",
    )
    parser.add_argument(
        "--short",
        action="store_true",
        help="latency only: zxing, the previous and the current cascade, 20 frames, no read rates",
    )
    parser.add_argument(
        "--decoders",
        default="",
        help="comma-separated candidate names to measure (default: all), e.g. zxing,cascade,wechat",
    )
    parser.add_argument(
        "--report-seed",
        type=int,
        default=REPORT_SEED,
        help=f"seed of the held-apart renders (default {REPORT_SEED}; the 1080p ones use the next seed): "
        "a fresh seed measures a decoder on renders nobody has looked at",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file")
    args = parser.parse_args(argv)
    if args.report_seed == TUNE_SEED:
        parser.error(f"seed {TUNE_SEED} is the tuning seed, not a held-apart one")
    if args.frames < 1 or args.repeat < 1 or args.renders < 1:
        parser.error("--frames, --repeat and --renders must be at least 1")
    if args.short:
        args.frames = min(args.frames, 20)

    info = machine()
    print(f"machine: {info['cpu_count']} CPUs, {info['platform']}, Python {info['python']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    with_code, without = synthetic_frames(args.frames)
    sets = [] if args.short else read_sets(args)
    sets = [rs for rs in sets if rs.items]
    print(
        f"{len(with_code)} frames {WIDTH}x{HEIGHT} with a code and {len(without)} without, x{args.repeat} "
        f"passes; read sets: " + (", ".join(f"{rs.name} ({len(rs.items)})" for rs in sets) or "none") + "\n"
    )

    chosen = {name.strip() for name in args.decoders.split(",") if name.strip()}
    results = []
    for decoder in candidates(args.wechat_models, args.short):
        if chosen and decoder.name not in chosen:
            continue
        results.append(bench_decoder(decoder, with_code, without, sets, args.repeat))
        print(f"  measured {decoder.name}", file=sys.stderr, flush=True)
    print_table(results, [rs.name for rs in sets])
    render_sets = [rs.name for rs in sets if any(item.readable is not None for item in rs.items)]
    if render_sets:
        print(
            "\nrenderings the geometry oracle reads (enough modules survive for the error correction), "
            "and what each decoder reads of them:"
        )
        print("| decoder | " + " | ".join(render_sets) + " |")
        print("|---|" + "---:|" * len(render_sets))
        oracle = [sum(bool(item.readable) for item in rs.items) for rs in sets if rs.name in render_sets]
        totals = [len(rs.items) for rs in sets if rs.name in render_sets]
        print("| oracle | " + " | ".join(f"{o}/{t}" for o, t in zip(oracle, totals, strict=True)) + " |")
        for r in results:
            cells = [
                f"{r['reads'][n].get('readable_read', 0)}/{r['reads'][n].get('readable_total', 0)}"
                for n in render_sets
            ]
            print(f"| {r['decoder']} | " + " | ".join(cells) + " |")
    why: dict[str, dict] = {}
    for r in results:
        if r["decoder"] != "cascade":
            continue
        for rs in sets:
            if rs.name in render_sets:
                why[rs.name] = why_missed(rs.items, r["reads"][rs.name]["misses"])
    for name, w in why.items():
        print(
            f"\ncascade on {name}: {w['renders']} renders, {w['lost']} lost (the oracle cannot read them "
            f"either), {w['missed']} missed (the oracle reads them; {w['missed_3_effects_or_more']} with 3+ "
            "effects); per effect: in / lost / missed of readable"
        )
        for effect, c in sorted(w["per_effect"].items(), key=lambda kv: -kv[1]["missed"]):
            print(f"  {effect:<14} {c['in']:4d} / {c['lost']:3d} / {c['missed']:3d} of {c['readable']}")
    if sets:
        print(
            "\nms per picture of each read set (wall clock, this run's load): median / p95 / max — the max "
            "is a picture with a located but unreadable code, where the grid stages work longest"
        )
        for r in results:
            cells = [
                f"{got['ms']['median_ms']:.0f} / {got['ms']['p95_ms']:.0f} / {got['ms']['max_ms']:.0f}"
                for got in r["reads"].values()
            ]
            print(f"  {r['decoder']:<20} " + " | ".join(cells))
        print(
            "CPU ms per picture (the decoding thread's, which a loaded machine inflates less): "
            "median / p95 / max"
        )
        for r in results:
            cpu = [got["cpu_ms"] for got in r["reads"].values()]
            cells = [f"{c['median_ms']:.0f} / {c['p95_ms']:.0f} / {c['max_ms']:.0f}" for c in cpu]
            print(f"  {r['decoder']:<20} " + " | ".join(cells))
    fps = [r["decoder"] for r in results if r["false_positives"]]
    if fps:
        print(f"\nfalse positives on code-free frames: {', '.join(fps)}")
    for r in results:
        if r["decoder"].startswith("cascade"):
            for name, got in r["reads"].items():
                if got["misses"] and "photos" in name:
                    print(f"{r['decoder']} misses on {name}: {' '.join(got['misses'])}")

    turns = interleaved_no_code([previous_cascade(), CascadeDecoder()], without, args.repeat)
    before, now = turns["cascade-before"], turns["cascade"]
    print(
        f"\ncode-free 1080p, the two cascades taking turns on each frame: cascade-before {before:.1f} ms, "
        f"cascade {now:.1f} ms median (ratio {now / before:.2f})"
    )

    scan = bench_scanner(with_code, without, args.repeat)
    print(
        f"\nframe to verdict (Scanner + cascade + default registry, 1080p): with a code median "
        f"{scan['with_code']['median_ms']:.1f} ms, p95 {scan['with_code']['p95_ms']:.1f} ms; without a code "
        f"median {scan['without_code']['median_ms']:.1f} ms, p95 {scan['without_code']['p95_ms']:.1f} ms"
    )

    stages = bench_cascade_stages(without, sets, with_code)
    print(
        "\ncascade stages: ms alone (median no-code 1080p / no-code 720p / 1080p with a code) and pictures "
        "read by each, per set:"
    )
    read_by = stages["read_by_stage"]
    cost = stages["ms_per_stage"]
    for name in cost["1080p"]:
        reads = ", ".join(f"{read_by[rs.name].get(name, 0)}" for rs in sets)
        ms_1080, ms_720 = cost["1080p"][name]["median_ms"], cost["720p"][name]["median_ms"]
        ms_code = cost["1080p with a code"][name]["median_ms"]
        print(f"  {name:<20} {ms_1080:5.1f} / {ms_720:5.1f} / {ms_code:5.1f} ms; read {reads or '-'}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "machine": info,
        "frames": {"width": WIDTH, "height": HEIGHT, "count": len(with_code), "repeat": args.repeat},
        "read_sets": {rs.name: len(rs.items) for rs in sets},
        "decoders": results,
        "scanner_cascade": scan,
        "no_code_interleaved_ms": turns,
        "cascade_misses": why,
        "cascade_stages": stages,
    }
    args.out.write_text(json.dumps(payload, indent=2), encoding="utf-8")
    print(f"\nwritten {args.out.relative_to(REPO_ROOT) if args.out.is_relative_to(REPO_ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
