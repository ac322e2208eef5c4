"""Checkpoint: the live preview with its framing guide, and below it the prompt or the verdict panel."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QLabel, QStackedWidget, QVBoxLayout, QWidget

from kiosk.checkpoint import Inspection
from kiosk.i18n import translate
from ui.widgets.preview import PreviewWidget
from ui.widgets.verdict_panel import VerdictPanel

BOTTOM_HEIGHT = 280  # room for the verdict word, a two-line reason, the details and a duplicate note


class CheckpointScreen(QWidget):
    def __init__(self, language: str, hold_ms: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checkpointScreen")
        self.language = language
        self.preview = PreviewWidget()
        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("prompt")
        self.hint_label = QLabel()
        self.hint_label.setObjectName("promptHint")
        prompt = QWidget()
        prompt.setObjectName("promptPanel")
        prompt_layout = QVBoxLayout(prompt)
        for label in (self.prompt_label, self.hint_label):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            prompt_layout.addWidget(label)
        self.verdict_panel = VerdictPanel(hold_ms, language)
        self.verdict_panel.finished.connect(self._show_prompt)
        self.bottom = QStackedWidget()
        self.bottom.setFixedHeight(BOTTOM_HEIGHT)
        self.bottom.addWidget(prompt)
        self.bottom.addWidget(self.verdict_panel)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(12)
        layout.addWidget(self.preview, 1)
        layout.addWidget(self.bottom)
        self.retranslate(language)

    @property
    def showing_verdict(self) -> bool:
        return self.bottom.currentWidget() is self.verdict_panel

    def set_frame(self, image: QImage) -> None:
        self.preview.set_image(image)

    def show_inspection(self, inspection: Inspection) -> None:
        self.verdict_panel.show_inspection(inspection)
        self.bottom.setCurrentWidget(self.verdict_panel)

    def _show_prompt(self) -> None:
        self.bottom.setCurrentIndex(0)

    def retranslate(self, language: str) -> None:
        self.language = language
        self.prompt_label.setText(translate("checkpoint.prompt", language))
        self.hint_label.setText(translate("checkpoint.hint", language))
        self.preview.set_waiting_text(translate("preview.waiting", language))
        self.verdict_panel.retranslate(language)

    def clear_personal_data(self) -> None:
        self.verdict_panel.clear()
        self._show_prompt()
