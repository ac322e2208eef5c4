"""The idle countdown shown over the whole window: "N 秒后返回首页，触摸屏幕继续"."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from kiosk.i18n import translate

CARD_WIDTH = 760


class IdleOverlay(QWidget):
    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._covered = parent  # what the overlay covers: the parent it is given and never leaves
        self.setObjectName("idleOverlay")
        # Needed for a plain QWidget to paint its style-sheet background (the dimming).
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.message_label = QLabel()
        self.message_label.setObjectName("idleMessage")
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_label.setWordWrap(True)
        # Padding lives in the card's layout, not in the label's style: a word-wrapped label with
        # style-sheet padding is sized too short and clips its second line.
        card = QFrame()
        card.setObjectName("idleCard")
        self.card = card
        self._card_layout = QVBoxLayout(card)  # kept: it gives the card's height for a width
        self._card_layout.setContentsMargins(56, 40, 56, 40)
        self._card_layout.addWidget(self.message_label)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(card, 0, Qt.AlignmentFlag.AlignCenter)
        layout.addStretch(1)
        self._seconds = 0
        self._language = "zh-CN"
        self.hide()

    def show_countdown(self, seconds: int, language: str) -> None:
        self._seconds = seconds
        self.retranslate(language)
        self.setGeometry(self._covered.rect())
        self.raise_()
        self.show()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_card()

    def _fit_card(self) -> None:
        # As wide as a comfortable line but never wider than a portrait screen, and as high as the wrapped
        # message needs: a centred item gets its size hint, which knows nothing of wrapping.
        width = min(CARD_WIDTH, self.width() - 32)
        self.card.setFixedSize(width, self._card_layout.totalHeightForWidth(width))

    def retranslate(self, language: str) -> None:
        self._language = language
        self.message_label.setText(translate("idle.countdown", language, n=self._seconds))
        self._fit_card()
