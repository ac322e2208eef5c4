"""ID-card capture, the camera step of every service form: live preview, card guide, prompts, manual fallback.

:class:`CameraIdCapture` is the camera implementation of the forms' ``IdCaptureStep`` (ui/screens/id_step.py):
the camera page (:class:`IdCaptureScreen`) with the manual-entry step one touch away. The camera page is
started with ``start(side)`` and reports ``captured(result, fields_to_check)`` once the reader has settled
(or gave up with its best guess, every unsure field flagged), ``manual_requested()`` when the person would
rather type, or ``cancelled()``. The review screen that follows highlights the fields to check; here the ID
number is only ever shown masked.

The page works even when reading cannot: while the OCR models load it says so, and if the camera or the
models fail it says that instead; the manual-entry button is there from the first moment either way.
Hiding the page (leaving it) or ``clear_personal_data()`` (idle reset) stops the capture and drops every
frame and result it holds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QHideEvent, QImage, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import Message, render, translate
from ui.card_capture import CardCaptureWorker, OcrModels
from ui.chip_reader import PLACE_ON_READER, ChipCard, ChipReader
from ui.scan_pipeline import CameraState, ScanPipeline
from ui.screens.id_step import IdCaptureStep, ManualIdCapture
from ui.widgets.card_guide import CardGuidePreview
from ui.widgets.style import set_style_state
from ui.widgets.touch_scroll import make_touch_scrollable
from ui.widgets.wrap_button import WrapButton

if TYPE_CHECKING:
    from kiosk.idcard.model import CardResult
    from kiosk.idcard.reader import ReaderUpdate

log = logging.getLogger(__name__)

SIDE_PANEL_WIDTH = 440
PORTRAIT_PANEL_HEIGHT = 440  # under the preview on a portrait screen: the preview keeps the rest
PORTRAIT_HEIGHT = 260
# The live preview is shown this coarse (then scaled up, soft): enough to put the card in the guide, too few
# pixels for anyone behind the person to read the number or the name off the screen.
PRIVACY_PREVIEW_WIDTH = 128
PLACE_CARD = Message("ocr.prompt.place_card")
# The card fields a form takes from the reader's best guess when it gives up: what the manual page asks.
MANUAL_FIELDS = ("name", "id_number")


def _portrait_pixmap(image: object) -> QPixmap:
    """A QPixmap of a BGR numpy image (the portrait cut from the rectified card)."""
    import numpy as np

    pixels = np.ascontiguousarray(image)
    height, width = pixels.shape[:2]
    qimage = QImage(pixels.data, width, height, pixels.strides[0], QImage.Format.Format_BGR888)
    # copy(): the pixmap must not point into the numpy buffer once the result is cleared.
    return QPixmap.fromImage(qimage.copy())


def _restyle(widget: QWidget, name: str, value: str) -> None:
    # Only on a change: a re-polish per analysed frame (tens a second on an empty desk) is wasted work.
    if widget.property(name) != value:
        set_style_state(widget, name, value)


class IdCaptureScreen(QWidget):
    captured = Signal(object, list)  # kiosk.idcard.model.CardResult (memory only), field names to confirm
    manual_requested = Signal()
    cancelled = Signal()

    def __init__(
        self,
        language: str,
        pipeline: ScanPipeline,
        models: OcrModels,
        parent: QWidget | None = None,
        chip: ChipReader | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("idCaptureScreen")
        # The card reader, when one is configured: asked first, the camera reading at the same time.
        self.chip = chip if chip is not None and chip.configured else None
        self.chip_key = PLACE_ON_READER
        self._chip_started = False
        self.source = "ocr"  # of ``result``: "chip" or "ocr"
        self.language = language
        self.side = "front"
        self.active = False
        self.camera_state, _ = pipeline.camera_state
        self.models = models
        self.models_state = "waiting"  # waiting (no loader yet) → loading → ready, or unavailable
        self.reader_state = "searching"
        self.prompt = PLACE_CARD
        self.result: CardResult | None = None

        self.worker = CardCaptureWorker(pipeline, self)
        self.worker.models_loading.connect(lambda: self._set_models_state("loading"))
        self.worker.models_ready.connect(lambda: self._set_models_state("ready"))
        self.worker.ocr_unavailable.connect(self._on_models_failed)
        self.worker.reader_update.connect(self._on_reader_update)
        models.changed.connect(self._on_models_changed)
        pipeline.frame_ready.connect(self._on_frame)
        pipeline.camera_status.connect(self._on_camera_status)

        self.preview = CardGuidePreview()
        self.result_panel = self._build_result_panel()
        self.pages = QStackedWidget()
        self.pages.addWidget(self.preview)
        self.pages.addWidget(self.result_panel)

        self.reader_label = QLabel()
        self.reader_label.setObjectName("capturePrompt")
        self.reader_label.setVisible(self.chip is not None)
        if self.chip is not None:
            self.chip.card_read.connect(self._on_chip_card)
            self.chip.read_failed.connect(self._on_chip_failed)
        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("capturePrompt")
        self.hint_label = QLabel()
        self.hint_label.setObjectName("captureHint")
        self.status_label = QLabel()
        self.status_label.setObjectName("captureStatus")
        for label in (self.reader_label, self.prompt_label, self.hint_label, self.status_label):
            label.setWordWrap(True)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Wraps: in large text the English label is wider than the side panel.
        self.manual_button = WrapButton()
        self.manual_button.setObjectName("manualButton")
        manual_policy = self.manual_button.sizePolicy()
        manual_policy.setVerticalPolicy(QSizePolicy.Policy.Preferred)  # the texts above take the spare height
        self.manual_button.setSizePolicy(manual_policy)
        self.manual_button.clicked.connect(self._on_manual)
        self.cancel_button = QPushButton()
        self.cancel_button.setObjectName("secondaryButton")
        self.cancel_button.clicked.connect(self._on_cancel)

        panel = QWidget()
        panel.setObjectName("promptPanel")
        self.panel = panel
        panel_layout = QVBoxLayout(panel)
        # Tight: on a 1024×600 screen the prompt, status and both buttons share under 400 px of height.
        panel_layout.setContentsMargins(16, 12, 16, 12)
        panel_layout.setSpacing(8)
        # The texts scroll when they are taller than the panel (English, large text, a 1024×600 screen); the
        # buttons under them stay in view, so typing instead is always one touch away.
        texts = QWidget()
        texts.setObjectName("promptTexts")
        texts_layout = QVBoxLayout(texts)
        texts_layout.setContentsMargins(0, 0, 0, 0)
        texts_layout.setSpacing(8)
        texts_layout.addWidget(self.reader_label)
        texts_layout.addWidget(self.prompt_label)
        texts_layout.addWidget(self.hint_label)
        texts_layout.addWidget(self.status_label)
        texts_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setObjectName("promptScroll")
        scroll.setWidgetResizable(True)
        scroll.setWidget(texts)
        make_touch_scrollable(scroll)
        panel_layout.addWidget(scroll, 1)
        panel_layout.addWidget(self.manual_button)
        panel_layout.addWidget(self.cancel_button)

        # Beside the preview on a landscape screen, under it on a portrait one (see resizeEvent).
        layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self.box = layout
        self._place_panel()
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(16)
        layout.addWidget(self.pages, 1)
        layout.addWidget(panel)
        self._on_models_changed()
        self.retranslate(language)

    def _build_result_panel(self) -> QFrame:
        panel = QFrame()
        panel.setObjectName("cardResult")
        self.portrait_label = QLabel()
        self.portrait_label.setObjectName("cardPortrait")
        self.portrait_label.setFixedHeight(PORTRAIT_HEIGHT)
        self.portrait_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.fields_form = QFormLayout()
        self.fields_form.setHorizontalSpacing(20)
        self.fields_form.setVerticalSpacing(10)
        self.check_label = QLabel()
        self.check_label.setObjectName("captureStatus")
        self.check_label.setWordWrap(True)
        self.source_label = QLabel()
        self.source_label.setObjectName("captureStatus")
        self.source_label.hide()
        # What the reader noticed about the picture (glare, a photocopy …) and what the card's own rules
        # found (a corrected number, an expired card), one line each: why the marked fields are marked.
        self.warnings_label = QLabel()
        self.warnings_label.setObjectName("captureWarnings")
        self.warnings_label.setWordWrap(True)
        columns = QHBoxLayout()
        columns.setSpacing(28)
        columns.addWidget(self.portrait_label, 0, Qt.AlignmentFlag.AlignTop)
        columns.addLayout(self.fields_form, 1)
        layout = QVBoxLayout(panel)
        layout.setContentsMargins(28, 28, 28, 28)
        layout.addLayout(columns)
        layout.addStretch(1)
        layout.addWidget(self.warnings_label)
        layout.addWidget(self.check_label)
        return panel

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_panel()

    def _place_panel(self) -> None:
        beside = self.width() >= 2 * SIDE_PANEL_WIDTH
        direction = QBoxLayout.Direction.LeftToRight if beside else QBoxLayout.Direction.TopToBottom
        self.box.setDirection(direction)
        if beside:
            self.panel.setMaximumHeight(16777215)
            self.panel.setFixedWidth(SIDE_PANEL_WIDTH)
        else:
            self.panel.setMinimumWidth(0)
            self.panel.setMaximumWidth(16777215)
            self.panel.setMaximumHeight(PORTRAIT_PANEL_HEIGHT)

    # --- what the host calls ---------------------------------------------------------------------------

    def start(self, side: str = "front") -> None:
        """Begin reading one side ("front" or "back") of a card, dropping what a previous person left."""
        self.clear_personal_data()
        self.side = side
        self.active = True
        self.preview.set_side(side)
        self._start_worker()
        # The chip holds the front's fields; the back's (validity) come with them, so only the front asks.
        if self.chip is not None and side == "front" and not self._chip_started:
            self._chip_started = True
            self.chip.start()
        self._refresh()

    def stop(self) -> None:
        """Stop reading; what was read so far stays until ``clear_personal_data()``."""
        self.active = False
        self.worker.stop()
        self._stop_chip()

    def _stop_chip(self) -> None:
        if self._chip_started and self.chip is not None:
            self._chip_started = False
            self.chip.stop()

    def clear_personal_data(self) -> None:
        self.stop()
        self.result = None
        self.source = "ocr"
        self.chip_key = PLACE_ON_READER
        self.reader_state = "searching"
        self.prompt = PLACE_CARD
        self.preview.clear()
        self.preview.set_guide_state("searching")
        self.portrait_label.clear()
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        self.check_label.clear()
        self.source_label.clear()
        self.warnings_label.clear()
        self.pages.setCurrentWidget(self.preview)
        self._refresh()

    def retranslate(self, language: str) -> None:
        self.language = language
        self.manual_button.setText(translate("idcapture.manual", language))
        self.cancel_button.setText(translate("idcapture.cancel", language))
        self.preview.set_waiting_text(translate("preview.waiting", language))
        if self.result is not None:
            self._fill_result(self.result)
        self._refresh()

    # --- state -----------------------------------------------------------------------------------------

    @property
    def blocked_key(self) -> str | None:
        """Why the card cannot be read now (an i18n key), if it cannot: the person should type instead."""
        if self.camera_state == CameraState.FAILED:
            return "idcapture.camera_failed"
        if self.models_state == "unavailable":
            return "idcapture.unavailable"
        return None

    @property
    def status_key(self) -> str | None:
        if self.result is not None:
            return None
        if (blocked := self.blocked_key) is not None:
            return blocked
        if self.camera_state == CameraState.RECONNECTING:
            return "idcapture.camera_reconnecting"
        if self.models_state in ("waiting", "loading"):
            return "idcapture.loading"
        return None

    def _start_worker(self) -> None:
        loader = self.models.loader
        if self.active and self.result is None and loader is not None:
            self.worker.start(self.side, loader)

    def _set_models_state(self, state: str) -> None:
        self.models_state = state
        self._refresh()

    def _on_models_changed(self) -> None:
        """Start-up made the models (possibly mid-capture), or found there are none."""
        loader = self.models.loader
        if self.models.unavailable or loader is None:
            self.worker.stop()
            self._set_models_state("unavailable" if self.models.unavailable else "waiting")
            return
        self._set_models_state("ready" if loader.ready else "loading")
        if not self.worker.running:
            self._start_worker()

    def _on_models_failed(self, reason: str) -> None:
        log.error("the OCR models failed to load, ID cards cannot be read: %s", reason)
        self.models.set_unavailable()

    def _on_frame(self, image: QImage) -> None:
        if self.active and self.result is None:
            coarse = image.scaledToWidth(PRIVACY_PREVIEW_WIDTH, Qt.TransformationMode.SmoothTransformation)
            self.preview.set_image(coarse)

    def _on_camera_status(self, state: str, reason: str) -> None:
        self.camera_state = state
        self._refresh()

    def _on_reader_update(self, update: ReaderUpdate) -> None:
        self.reader_state = update.state
        self.prompt = update.prompt
        if update.result is None:
            self.preview.set_guide_state("reading" if update.state == "reading" else "searching")
            self._refresh()
            return
        self.active = False
        self._stop_chip()  # the first complete source wins: the reader stops asking
        self.result = update.result
        self.source = "ocr"
        self.preview.set_guide_state("done")
        self.preview.clear()  # the last frame shows the card, its number in clear: not kept on screen
        self._fill_result(update.result)
        self.pages.setCurrentWidget(self.result_panel)
        self._refresh()
        self.captured.emit(update.result, update.result.low_confidence_fields())

    def _on_chip_card(self, card: ChipCard) -> None:
        if not self.active or self.result is not None:
            return
        self.stop()  # the camera's reading of the same card is of no use now
        result = card.identity.side(self.side)
        result.fields.update(card.identity.fields)  # the back's too: the chip holds both sides
        self.result = result
        self.source = "chip"
        self.preview.set_guide_state("done")
        self.preview.clear()
        self._fill_result(result)
        if card.photo_bmp is not None:
            pixmap = QPixmap()
            if pixmap.loadFromData(card.photo_bmp):
                self.portrait_label.setPixmap(
                    pixmap.scaledToHeight(PORTRAIT_HEIGHT, Qt.TransformationMode.SmoothTransformation)
                )
        else:
            self.portrait_label.setText(translate("idreader.no_photo", self.language))
        self.pages.setCurrentWidget(self.result_panel)
        self._refresh()
        self.captured.emit(result, [])  # the chip's fields are certain: nothing to highlight

    def _on_chip_failed(self, key: str) -> None:
        if self.active and self.result is None:
            self.chip_key = key
            self._refresh()

    # --- drawing ---------------------------------------------------------------------------------------

    def _fill_result(self, result: CardResult) -> None:
        while self.fields_form.rowCount():
            self.fields_form.removeRow(0)
        doubtful = result.low_confidence_fields()
        for name, value in result.to_json(mask=True)["fields"].items():
            caption = QLabel(translate(f"idcard.field.{name}", self.language))
            caption.setObjectName("resultCaption")
            shown = QLabel(value)
            shown.setObjectName("resultValue")
            shown.setWordWrap(True)
            # The count below says how many to check; the mark says which (colour and underline, so it
            # does not rest on colour alone).
            set_style_state(shown, "check", "true" if name in doubtful else "false")
            self.fields_form.addRow(caption, shown)
        if result.portrait_image is not None:
            pixmap = _portrait_pixmap(result.portrait_image)
            self.portrait_label.setPixmap(
                pixmap.scaledToHeight(PORTRAIT_HEIGHT, Qt.TransformationMode.SmoothTransformation)
            )
        self.warnings_label.setText(
            "\n".join(translate(f"ocr.warning.{code}", self.language) for code in result.warnings)
        )
        to_check = len(doubtful)
        self.check_label.setText(
            translate("idcapture.to_check", self.language, n=to_check) if to_check else ""
        )
        # Which source won, when the reader competes with the camera.
        self.source_label.setText(translate(f"idreader.source.{self.source}", self.language))
        self.source_label.setVisible(self.chip is not None)

    def _refresh(self) -> None:
        language = self.language
        if self.chip is not None:
            self.reader_label.setText(translate(self.chip_key, language) if self.result is None else "")
            _restyle(self.reader_label, "severity", "error" if self.chip_key != PLACE_ON_READER else "info")
        blocked = self.blocked_key if self.result is None else None
        if blocked:
            self.prompt_label.setText(translate("idcapture.type_instead", language))
        else:
            self.prompt_label.setText(render(self.prompt, language))
        shows_hint = self.result is None and not blocked
        self.hint_label.setText(translate(f"idcapture.hint.{self.side}", language) if shows_hint else "")
        status = self.status_key
        self.status_label.setText(translate(status, language) if status else "")
        self.status_label.setVisible(status is not None)
        _restyle(self.status_label, "severity", "error" if blocked else "info")
        # With the camera or the reader out of order, typing is the way on: the button says so by its look.
        _restyle(self.manual_button, "emphasis", "true" if blocked else "false")

    # --- buttons and leaving ---------------------------------------------------------------------------

    def _on_manual(self) -> None:
        self.clear_personal_data()
        self.manual_requested.emit()

    def _on_cancel(self) -> None:
        self.clear_personal_data()
        self.cancelled.emit()

    def hideEvent(self, event: QHideEvent) -> None:
        # Leaving the page ends the capture; a spontaneous hide (the window minimised) is not leaving.
        if not event.spontaneous():
            self.clear_personal_data()
        super().hideEvent(event)


class CameraIdCapture(IdCaptureStep):
    """The ID step by camera, for a service form: the card is read, or typed on the manual page.

    ``captured`` carries the fields read from the card's front (``name``, ``id_number`` and the others the
    card shows); ``to_check`` then names those the review screen should highlight. When the reader gives up,
    the manual page opens with its best guess to correct, as it does with the ``known`` values of ``begin``.
    """

    def __init__(
        self,
        language: str,
        pipeline: ScanPipeline,
        models: OcrModels,
        parent: QWidget | None = None,
        chip: ChipReader | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("cameraIdCapture")
        self.language = language
        self._known: dict[str, str] = {}
        self.camera = IdCaptureScreen(language, pipeline, models, chip=chip)
        self.manual = ManualIdCapture(language)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.camera)
        self.pages.addWidget(self.manual)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)
        self.camera.captured.connect(self._on_read)
        self.camera.manual_requested.connect(lambda: self._type_instead(self._known))
        self.camera.cancelled.connect(self.cancelled)
        self.manual.captured.connect(self._on_typed)
        self.manual.cancelled.connect(self._back_to_camera)

    def begin(self, language: str, known: dict[str, str] | None = None) -> None:
        self._known = dict(known or {})
        self.to_check = []
        self.retranslate(language)
        self._back_to_camera()

    def retranslate(self, language: str) -> None:
        self.language = language
        self.camera.retranslate(language)
        self.manual.retranslate(language)

    def clear_personal_data(self) -> None:
        self._known = {}
        self.to_check = []
        self.camera.clear_personal_data()
        self.manual.clear_personal_data()
        self.pages.setCurrentWidget(self.camera)

    def _back_to_camera(self) -> None:
        self.manual.clear_personal_data()
        self.pages.setCurrentWidget(self.camera)
        self.camera.start("front")

    def _type_instead(self, known: dict[str, str]) -> None:
        self.pages.setCurrentWidget(self.manual)  # hides the camera page, which stops and clears it
        self.manual.begin(self.language, known)

    def _on_read(self, result: CardResult, to_check: list[str]) -> None:
        fields = dict(result.fields)
        if self.camera.reader_state == "gave_up":
            self._type_instead({name: fields[name] for name in MANUAL_FIELDS if name in fields})
            return
        self.to_check = list(to_check)
        self.source = self.camera.source
        self.captured.emit(fields)

    def _on_typed(self, fields: dict[str, str]) -> None:
        self.to_check = []  # typed and checked as it was typed: nothing is left in doubt
        self.source = "typed"
        self.captured.emit(fields)
