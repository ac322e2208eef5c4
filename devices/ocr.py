"""Text recognition engines behind one small interface, and a loader that warms them up off the GUI thread.

``rapidocr`` (the default) runs PaddleOCR's PP-OCR detection and recognition models on ONNX Runtime; the
models ship inside its wheel, so nothing is fetched at run time. ``paddleocr`` runs the same model family on
PaddlePaddle, for a deployment that installs it and copies the model folders onto the device; it is chosen by
configuration (``KIOSK_OCR_ENGINE=paddleocr`` plus ``KIOSK_OCR_DET_DIR`` / ``KIOSK_OCR_REC_DIR``). See
docs/benchmarks-ocr.md for why rapidocr is the default.

Recognised text is personal data: nothing here logs it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kiosk.idcard.ctc import CharMatrix

log = logging.getLogger(__name__)

ENGINES = ("rapidocr", "paddleocr")
DEFAULT_ENGINE = "rapidocr"


class OcrUnavailable(RuntimeError):
    """The configured engine cannot run here (package or model files missing); the message says which."""


@dataclass(frozen=True)
class TextLine:
    """One detected line of text: ``box`` is its corner quad (4 × 2 float, image pixels, clockwise from top
    left) and ``confidence`` the recogniser's score in 0..1 (the mean of its characters' scores).

    Engines that can tell also give ``chars``, each character's own score (so one doubtful character in a
    long line is not averaged away), and ``gaps`` (one more than the characters): before character i, the
    highest probability the recogniser gave to a character it did not write there, the trace of a
    character it dropped (988 read as 88). ``positions`` gives where each character was read along the
    box, as a fraction of its width from the left edge (the centre of the recogniser's steps that wrote
    it): the part of a line that lies inside a neighbouring line's box can be told apart. All three are
    empty when unknown."""

    text: str
    box: np.ndarray
    confidence: float
    chars: tuple[float, ...] = ()
    gaps: tuple[float, ...] = ()
    positions: tuple[float, ...] = ()

    @property
    def centre(self) -> tuple[float, float]:
        x, y = self.box.mean(axis=0)
        return float(x), float(y)

    @property
    def height(self) -> float:
        return (
            float(np.linalg.norm(self.box[3] - self.box[0]) + np.linalg.norm(self.box[2] - self.box[1])) / 2
        )


@runtime_checkable
class OcrEngine(Protocol):
    name: str

    def load(self) -> None:
        """Load the models (slow, once); ``recognise`` calls it if nobody did."""
        ...

    def recognise(self, image: np.ndarray) -> list[TextLine]:
        """All text lines in a BGR image, in no particular order."""
        ...


@runtime_checkable
class CharScoringEngine(OcrEngine, Protocol):
    """An engine that also exposes its recogniser's per-step character probabilities for a text crop."""

    def char_matrices(self, crops: list[np.ndarray]) -> list[CharMatrix]:
        """For each BGR crop of one text line, the recogniser's log-probabilities per step and character."""
        ...


@dataclass(frozen=True)
class OnnxSettings:
    """How ONNX Runtime runs the models. The defaults suit a two-core kiosk whose GUI and camera threads
    need the CPU between model runs (bench/idcard_latency.py measures them against ``BASELINE_ONNX``)."""

    threads: int = 2
    # Idle worker threads busy-wait for the next operator by default: on two cores shared with the GUI and
    # the camera's decoding that steals the very CPU the next operator needs.
    spinning: bool = False
    # Reuse buffers between runs instead of allocating every tensor afresh (rapidocr turns this off).
    memory_arena: bool = True


# The text detector sees the rectified card (856 x 540) shrunk to this longest side: its lines are 20 px
# high or more there, plenty to find them, and the recogniser still reads them from the full-size card.
# At 960 (no shrinking) detection took about 35 % of a read.
DET_LIMIT_SIDE = 640
# Lines are recognised one at a time, each padded only to its own width: in rapidocr's batches of six every
# line is padded to the widest (the address), and recognition took about 1.7 times as long.
REC_BATCH = 1
# How far each detected text box is grown before its line is cut out for the recogniser (rapidocr's
# default 1.6). At 1.6 the last character of a line was sometimes cut in half at the crop's edge and
# dropped or misread (朝阳路9|88号 read 朝阳路88号, a stray 生 of the 出生 label joined to the address);
# 2.0 read 59 of 60 addresses on the tuning cards instead of 57 (docs/benchmarks.md).
DET_UNCLIP_RATIO = 2.0

BASELINE_ONNX = OnnxSettings(spinning=True, memory_arena=False)  # what rapidocr itself sets up


class RapidOcrEngine:
    """PP-OCR (det + rec) on ONNX Runtime through the ``rapidocr`` package, with the models in its wheel.

    The line-orientation classifier is off by default: callers hand in a rectified, upright card, and
    skipping it saves a model run per line.
    """

    name = "rapidocr"

    def __init__(
        self,
        det_limit_side: int = DET_LIMIT_SIDE,
        rec_batch: int = REC_BATCH,
        det_unclip_ratio: float = DET_UNCLIP_RATIO,
        use_cls: bool = False,
        params: Mapping[str, Any] | None = None,
        onnx: OnnxSettings = OnnxSettings(),
    ) -> None:
        self.det_limit_side = det_limit_side
        self.rec_batch = rec_batch
        self.det_unclip_ratio = det_unclip_ratio
        self.use_cls = use_cls
        self.params = dict(params or {})  # further rapidocr settings, e.g. other shipped model files
        self.onnx = onnx
        self._engine: Any = None
        self._alphabet: tuple[list[str], dict[str, int]] | None = None
        self._lock = threading.Lock()
        # Milliseconds of the last recognise() in detection and recognition, as rapidocr measured them.
        self.last_stage_ms: dict[str, float] = {}

    def load(self) -> None:
        with self._lock:
            if self._engine is not None:
                return
            try:
                from rapidocr import RapidOCR
            except ImportError as err:
                raise OcrUnavailable("the rapidocr package is not installed") from err
            params = {
                "Global.log_level": "error",
                "Global.use_cls": self.use_cls,
                "Det.limit_type": "max",
                "Det.limit_side_len": self.det_limit_side,
                "Det.unclip_ratio": self.det_unclip_ratio,
                "Rec.rec_batch_num": self.rec_batch,
                **self.params,
            }
            engine = RapidOCR(params=params)
            for section in ("Det", "Rec", "Cls") if self.use_cls else ("Det", "Rec"):
                _own_session(engine.cfg[section], engine.cfg.Global.model_root_dir, self.onnx)
            rec = engine._load_rec_model()
            self._steps = _StepRecorder(rec.postprocess_op)
            rec.postprocess_op = self._steps
            self._engine = engine

    def recognise(self, image: np.ndarray) -> list[TextLine]:
        self.load()
        self._steps.take()  # lines some other use of the recogniser left behind are not this image's
        result = self._engine(image)
        elapsed = getattr(result, "elapse_list", None) or [None, None, None]
        self.last_stage_ms = {
            stage: seconds * 1000
            for stage, seconds in zip(("detect", "classify", "recognise"), elapsed, strict=False)
            if isinstance(seconds, float)
        }
        steps = self._steps.take()
        if result.boxes is None or result.txts is None:
            return []
        lines = []
        for box, text, score in zip(result.boxes, result.txts, result.scores, strict=True):
            # rapidocr drops empty and low-scoring lines after recognition: match the rest by their text.
            found = next((i for i, (t, *_) in enumerate(steps) if t == text), None)
            chars, gaps, positions = steps.pop(found)[1:] if found is not None else ((), (), ())
            box = np.asarray(box, dtype=np.float32)
            lines.append(TextLine(str(text), box, float(score), chars, gaps, positions))
        return lines

    def char_matrices(self, crops: list[np.ndarray]) -> list[CharMatrix]:
        self.load()
        # rapidocr's own recogniser (already loaded by the first recognise), so no second copy of the model;
        # its resize/normalise step is reused so the crops are prepared exactly as in a full OCR run.
        rec = self._engine._load_rec_model()
        if self._alphabet is None:
            alphabet = list(rec.postprocess_op.character)
            self._alphabet = (alphabet, {ch: i for i, ch in enumerate(alphabet) if i})
        alphabet, index = self._alphabet
        height, width = rec.rec_image_shape[1:]
        out = []
        for crop in crops:
            ratio = max(crop.shape[1] / crop.shape[0], width / height)
            batch = rec.resize_norm_img(crop, ratio)[np.newaxis].astype(np.float32)
            probs = rec.session(batch)[0]
            out.append(CharMatrix(np.log(np.clip(probs, 1e-30, 1.0)), alphabet, index))
        return out


class _StepRecorder:
    """Stands in for rapidocr's CTC decoder: decodes as it does and, per line, also keeps what its line
    score averages away (each written character's probability) and what greedy decoding throws away (a
    character that lost to the blank or to its neighbour at some step). Only these few numbers per line
    are kept, not the step × alphabet probabilities (megabytes per line), and where each character was
    read along the line."""

    def __init__(self, decoder: Any) -> None:
        self.decoder = decoder
        self.character = decoder.character  # char_matrices reads the alphabet from here
        # A wider space between printed characters (letter-spaced layouts) is no character dropped.
        self._not_characters = [i for i, ch in enumerate(decoder.character) if i and not ch.strip()]
        self._lines: list[tuple[str, tuple[float, ...], tuple[float, ...], tuple[float, ...]]] = []

    def __call__(self, preds: np.ndarray, return_word_box: bool = False, **kwargs: Any) -> Any:
        out = self.decoder(preds, return_word_box, **kwargs)
        # Each crop of a batch is padded on the right to the widest one's aspect ratio (at least the
        # model's own): the steps past its own width saw padding.
        ratios = kwargs.get("wh_ratio_list") or [1.0] * len(preds)
        widest = kwargs.get("max_wh_ratio") or max(ratios)
        for probs, (text, _), ratio in zip(preds, out[0], ratios, strict=True):
            positions = char_positions(probs.argmax(axis=1), min(1.0, ratio / widest))
            self._lines.append((text, *char_and_gap_scores(probs, self._not_characters), positions))
        return out

    def take(self) -> list[tuple[str, tuple[float, ...], tuple[float, ...], tuple[float, ...]]]:
        lines, self._lines = self._lines, []
        return lines


def char_positions(best: np.ndarray, content: float = 1.0) -> tuple[float, ...]:
    """Where each character of a greedy CTC reading lies along its crop, as a fraction of the crop's width:
    the centre of the steps that wrote it (``best``, the top column per step; blank = column 0), the
    crop filling the first ``content`` of the steps (the rest is padding)."""
    steps = len(best)
    spans: list[list[int]] = []
    previous = 0
    for t, b in enumerate(best):
        if b != 0 and b != previous:
            spans.append([t, t])
        elif b != 0:
            spans[-1][1] = t
        previous = b
    return tuple(((first + last + 1) / 2) / (steps * content) for first, last in spans)


def char_and_gap_scores(
    probs: np.ndarray, not_characters: Sequence[int] = ()
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(per written character its probability, per gap around them the strongest unwritten character)
    from one line's step × alphabet probabilities, decoded greedily as CTC does (blank = column 0).
    ``probs`` is overwritten (the decoder is done with it).

    Gap i lies before character i. Only steps that write nothing new (a blank, or the previous character
    held) count there, and not the characters either side of the gap: their probability spills into the
    steps around them, nor the columns ``not_characters`` (the space)."""
    steps = np.arange(len(probs))
    best = probs.argmax(axis=1)
    top = probs[steps, best]
    # The runner-up per step, found in ``probs`` itself: copying a line's step × alphabet array (megabytes)
    # cost more than the rest of this function.
    probs[:, [0, *not_characters]] = 0.0
    probs[steps, best] = 0.0
    runner = probs.argmax(axis=1)
    runner_p = probs[steps, runner]
    written = [int(b) for i, b in enumerate(best) if b != 0 and (i == 0 or b != best[i - 1])]
    chars: list[float] = []
    gaps = [0.0] * (len(written) + 1)
    previous = 0
    for t in steps:
        b = int(best[t])
        if b != 0 and b != previous:
            chars.append(float(top[t]))
        else:
            if b != 0:
                chars[-1] = max(chars[-1], float(top[t]))
            gap = len(chars)  # the gap after the characters written so far
            neighbours = written[max(gap - 1, 0) : gap + 1]
            if runner[t] not in neighbours:
                gaps[gap] = max(gaps[gap], float(runner_p[t]))
        previous = b
    return tuple(chars), tuple(gaps)


def onnx_session(model: Path, settings: OnnxSettings) -> Any:
    """An ONNX Runtime CPU session for ``model`` run as ``settings`` say: every recogniser of the kiosk
    shares the two cores the same way."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = settings.threads
    options.inter_op_num_threads = 1
    options.enable_cpu_mem_arena = settings.memory_arena
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if settings.spinning else "0")
    return ort.InferenceSession(str(model), sess_options=options, providers=["CPUExecutionProvider"])


def _own_session(section: Any, model_root: str, settings: OnnxSettings) -> None:
    """Give a rapidocr model section an ONNX Runtime session built with ``settings``, before rapidocr
    builds its own (which would not let us choose them): the same shipped model file rapidocr would load,
    and a missing file is an error here, never a download."""
    from omegaconf import flag_override
    from rapidocr.inference_engine.base import FileInfo, InferSession

    if section.get("model_path"):
        model = Path(section.model_path)
    else:
        info = InferSession.get_model_url(
            FileInfo(
                engine_type=section.engine_type,
                ocr_version=section.ocr_version,
                task_type=section.task_type,
                lang_type=section.lang_type,
                model_type=section.model_type,
            )
        )
        model = Path(model_root) / Path(info["model_dir"]).name
    if not model.is_file():
        raise OcrUnavailable(f"the OCR model file {model.name} is not installed")
    session = onnx_session(model, settings)
    # rapidocr takes a ready session from its section's "session" key (an object, so the config must allow
    # one for this assignment).
    with flag_override(section, "allow_objects", True):
        section.session = session


class PaddleOcrEngine:
    """PP-OCR on PaddlePaddle (``paddleocr`` ≥ 3), from local model folders only.

    Both folders must be given: paddleocr would otherwise download models from its hub at first use, which a
    kiosk must never do. Not exercised by CI (PaddlePaddle is not installed there); see
    docs/benchmarks-ocr.md.
    """

    name = "paddleocr"

    def __init__(
        self, det_model_dir: str | Path, rec_model_dir: str | Path, det_limit_side: int = 960
    ) -> None:
        self.det_model_dir = Path(det_model_dir)
        self.rec_model_dir = Path(rec_model_dir)
        self.det_limit_side = det_limit_side
        self._engine: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._engine is not None:
                return
            for folder in (self.det_model_dir, self.rec_model_dir):
                if not folder.is_dir():
                    raise OcrUnavailable(f"paddleocr model folder {folder} does not exist")
            try:
                from paddleocr import PaddleOCR
            except ImportError as err:
                raise OcrUnavailable("the paddleocr package (and paddlepaddle) is not installed") from err
            self._engine = PaddleOCR(
                text_detection_model_dir=str(self.det_model_dir),
                text_recognition_model_dir=str(self.rec_model_dir),
                use_doc_orientation_classify=False,
                use_doc_unwarping=False,
                use_textline_orientation=False,
                text_det_limit_type="max",
                text_det_limit_side_len=self.det_limit_side,
            )

    def recognise(self, image: np.ndarray) -> list[TextLine]:
        self.load()
        lines: list[TextLine] = []
        for page in self._engine.predict(image):
            for poly, text, score in zip(
                page["rec_polys"], page["rec_texts"], page["rec_scores"], strict=True
            ):
                lines.append(TextLine(str(text), np.asarray(poly, dtype=np.float32), float(score)))
        return lines


def make_engine(name: str | None = None, env: Mapping[str, str] | None = None) -> OcrEngine:
    """The engine named by ``name``, else ``KIOSK_OCR_ENGINE``, else rapidocr (not yet loaded)."""
    env = os.environ if env is None else env
    chosen = (name or env.get("KIOSK_OCR_ENGINE") or DEFAULT_ENGINE).strip().lower()
    if chosen == "rapidocr":
        return RapidOcrEngine()
    if chosen == "paddleocr":
        det, rec = env.get("KIOSK_OCR_DET_DIR"), env.get("KIOSK_OCR_REC_DIR")
        if not det or not rec:
            raise OcrUnavailable(
                "paddleocr needs KIOSK_OCR_DET_DIR and KIOSK_OCR_REC_DIR (local model folders)"
            )
        return PaddleOcrEngine(det, rec)
    raise OcrUnavailable(f"unknown OCR engine {chosen!r}; choose one of {', '.join(ENGINES)}")


class BackgroundLoader:
    """Loads an engine once on a daemon thread, so start-up (and the home screen) never waits for models.

    ``start()`` returns at once; ``wait()`` blocks a worker thread until the models are ready and returns the
    engine, or raises the load error. ``on_done`` (if given) is called on the loading thread with the error
    or ``None`` — a GUI must marshal it to its own thread.
    """

    def __init__(
        self, engine: OcrEngine, on_done: Callable[[BaseException | None], None] | None = None
    ) -> None:
        self.engine = engine
        self.on_done = on_done
        self.load_seconds: float | None = None
        self.error: BaseException | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def start(self) -> BackgroundLoader:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ocr-model-loader", daemon=True)
                self._thread.start()
        return self

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self.engine.load()
            # One tiny inference: ONNX Runtime allocates and optimises on the first run, not at load.
            self.engine.recognise(np.full((64, 256, 3), 255, np.uint8))
        except Exception as err:  # reported to the caller through wait() / on_done, not swallowed
            self.error = err
            log.warning("OCR engine %s failed to load: %s", self.engine.name, err)
        self.load_seconds = time.perf_counter() - started
        if self.error is None:
            log.info("OCR engine %s ready in %.2f s", self.engine.name, self.load_seconds)
        self._done.set()
        if self.on_done is not None:
            self.on_done(self.error)

    @property
    def ready(self) -> bool:
        return self._done.is_set() and self.error is None

    def wait(self, timeout: float | None = None) -> OcrEngine:
        self.start()
        if not self._done.wait(timeout):
            raise TimeoutError("the OCR models are still loading")
        if self.error is not None:
            raise OcrUnavailable(str(self.error)) from self.error
        return self.engine
