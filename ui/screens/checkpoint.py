"""Checkpoint: the live preview with its framing guide, and below it the prompt or the verdict panel.

On a short screen (a 1024×600 panel) the prompt and verdict go beside the preview instead of below it, so
that both keep their size; the prompt panel also leads to today's statistics.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from kiosk.checkpoint import Inspection
from kiosk.i18n import translate
from ui.widgets.preview import PreviewWidget
from ui.widgets.verdict_panel import VerdictPanel

# The least height of the panel under the preview: room for the verdict word, a two-line reason, the details
# and a duplicate note. It grows past it when its text needs more (large text): a verdict cut off is worse
# than a smaller preview.
BOTTOM_HEIGHT = 280
# On a narrow (portrait) screen the same text wraps onto more lines, and there is height to spare.
NARROW_BOTTOM_HEIGHT = 420
NARROW = 900
SIDE_WIDTH = 440  # the panel's width when it stands beside the preview
MIN_PREVIEW_HEIGHT = 240  # below this (with the panel under it) the preview is too small to aim a code at


class CheckpointScreen(QWidget):
    stats_requested = Signal()

    def __init__(self, language: str, hold_ms: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("checkpointScreen")
        self.language = language
        self.preview = PreviewWidget()
        self.prompt_label = QLabel()
        self.prompt_label.setObjectName("prompt")
        self.hint_label = QLabel()
        self.hint_label.setObjectName("promptHint")
        self.stats_button = QPushButton()
        self.stats_button.setObjectName("secondaryButton")
        self.stats_button.clicked.connect(self.stats_requested)
        prompt = QWidget()
        prompt.setObjectName("promptPanel")
        prompt_layout = QVBoxLayout(prompt)
        for label in (self.prompt_label, self.hint_label):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            prompt_layout.addWidget(label)
        prompt_layout.addWidget(self.stats_button, 0, Qt.AlignmentFlag.AlignRight)
        self.verdict_panel = VerdictPanel(hold_ms, language)
        self.verdict_panel.finished.connect(self._show_prompt)
        self.bottom = QStackedWidget()
        self.bottom.addWidget(prompt)
        self.bottom.addWidget(self.verdict_panel)

        self.box = QBoxLayout(QBoxLayout.Direction.TopToBottom, self)
        self.box.setContentsMargins(16, 12, 16, 12)
        self.box.setSpacing(12)
        self.box.addWidget(self.preview, 1)
        self.box.addWidget(self.bottom)
        self._place_panel(below=True)
        self.retranslate(language)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        below = self.height() >= BOTTOM_HEIGHT + MIN_PREVIEW_HEIGHT + 36 or self.width() < 2 * SIDE_WIDTH
        self._place_panel(below)

    def _place_panel(self, below: bool) -> None:
        if below:
            self.box.setDirection(QBoxLayout.Direction.TopToBottom)
            self.bottom.setMinimumWidth(0)
            self.bottom.setMaximumWidth(16777215)
            # A minimum, not a fixed height: the box gives the panel the height its wrapped text needs at
            # this width (height-for-width) and the preview the rest.
            self.bottom.setMaximumHeight(16777215)
            self.bottom.setMinimumHeight(BOTTOM_HEIGHT if self.width() >= NARROW else NARROW_BOTTOM_HEIGHT)
        else:
            self.box.setDirection(QBoxLayout.Direction.LeftToRight)
            self.bottom.setMinimumHeight(0)
            self.bottom.setMaximumHeight(16777215)
            self.bottom.setFixedWidth(SIDE_WIDTH)

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
        self.stats_button.setText(translate("stats.open", language))
        self.preview.set_waiting_text(translate("preview.waiting", language))
        self.verdict_panel.retranslate(language)

    def clear_personal_data(self) -> None:
        self.verdict_panel.clear()
        self._show_prompt()
