"""The attract screen, shown while nobody uses the kiosk: what it offers and how to start.

Self-service: the services as cards, one lit after another, slowly; checkpoint: "请出示二维码" (the window
keeps scanning behind it, and a code shown goes straight to its verdict). A touch anywhere starts: the window
goes to the home screen. The animation runs only while the screen is visible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import QEasingCurve, QPropertyAnimation, Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QMouseEvent, QResizeEvent, QShowEvent
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsOpacityEffect,
    QGridLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import translate
from ui.widgets.style import set_style_state

LIGHT_STEP_MS = 1800  # one card lit after another: slow enough to read, never still
PULSE_MS = 2400  # the "touch to start" line fades out and in over this
MAX_COLUMNS = 4
_SPACING = 20


class AttractScreen(QWidget):
    touched = Signal()

    def __init__(
        self,
        language: str,
        services: Sequence[tuple[str, Mapping[str, str]]] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("attractScreen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.services = list(services)
        self.lit = -1
        self._columns = 0
        self._dense = ""  # the cards' "dense" style state, as last set
        self.title_label = QLabel()
        self.title_label.setObjectName("attractTitle")
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title_label.setWordWrap(True)
        self.hint_label = QLabel()
        self.hint_label.setObjectName("attractHint")
        self.hint_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint_label.setWordWrap(True)
        self.cards: list[QFrame] = []
        self.card_labels: list[QLabel] = []
        self._card_boxes: list[QVBoxLayout] = []  # each card's layout: its height for a width
        self.grid = QGridLayout()
        self.grid.setSpacing(_SPACING)
        for _ in self.services:
            card = QFrame()
            card.setObjectName("attractCard")
            card.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            label = QLabel()
            label.setObjectName("attractService")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            box = QVBoxLayout(card)
            box.setContentsMargins(12, 8, 12, 8)
            box.addWidget(label)
            set_style_state(card, "lit", "false")
            self.cards.append(card)
            self.card_labels.append(label)
            self._card_boxes.append(box)
        self.touch_label = QLabel()
        self.touch_label.setObjectName("attractTouch")
        self.touch_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.touch_label.setWordWrap(True)
        self._fade = QGraphicsOpacityEffect(self.touch_label)
        self.touch_label.setGraphicsEffect(self._fade)
        self.pulse = QPropertyAnimation(self._fade, b"opacity", self)
        self.pulse.setDuration(PULSE_MS)
        self.pulse.setKeyValueAt(0.0, 1.0)
        self.pulse.setKeyValueAt(0.5, 0.35)
        self.pulse.setKeyValueAt(1.0, 1.0)
        self.pulse.setEasingCurve(QEasingCurve.Type.InOutSine)
        self.pulse.setLoopCount(-1)
        self.stepper = QTimer(self)
        self.stepper.setInterval(LIGHT_STEP_MS)
        self.stepper.timeout.connect(self._light_next)

        self._layout = QVBoxLayout(self)  # kept: its margins bound the room the cards have
        self._layout.setContentsMargins(40, 24, 40, 24)
        self._layout.setSpacing(_SPACING)
        self._layout.addStretch(1)
        self._layout.addWidget(self.title_label)
        self._layout.addWidget(self.hint_label)
        self._layout.addLayout(self.grid, 3 if self.services else 0)
        self._layout.addWidget(self.touch_label)
        self._layout.addStretch(1)
        self.retranslate(language)

    def retranslate(self, language: str) -> None:
        if self.services:
            self.title_label.setText(translate("home.self_service_title", language))
            self.hint_label.setText("")
        else:
            self.title_label.setText(translate("checkpoint.prompt", language))
            self.hint_label.setText(translate("checkpoint.hint", language))
        self.hint_label.setVisible(not self.services)
        for label, (_, titles) in zip(self.card_labels, self.services, strict=True):
            label.setText(titles.get(language) or titles["zh-CN"])
        self.touch_label.setText(translate("attract.touch", language))
        self._reflow()  # the titles' widths in the new language may call for other columns

    def clear_personal_data(self) -> None:
        """Nothing personal is ever on this screen."""

    # --- animation: only while on screen ---------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.pulse.start()
        if self.cards:
            self.stepper.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.pulse.stop()
        self.stepper.stop()
        self._fade.setOpacity(1.0)

    def _light_next(self) -> None:
        if self.lit >= 0:
            set_style_state(self.cards[self.lit], "lit", "false")
        self.lit = (self.lit + 1) % len(self.cards)
        set_style_state(self.cards[self.lit], "lit", "true")

    # --- layout and touch ------------------------------------------------------------------------------

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._reflow()

    def _reflow(self) -> None:
        if not self.cards:
            return
        # The cards' titles in their own size while they fit; smaller where seven or more services in English
        # on a 1024x600 panel would not (this screen does not scroll: it is looked at, not used).
        for dense in ("false", "true"):
            if self._dense != dense:
                for card in self.cards:
                    set_style_state(card, "dense", dense)
                self._dense = dense
            columns, fits = self._columns_for(self.width(), self.height())
            if fits:
                break
        if columns != self._columns:
            self._columns = columns
            for i, card in enumerate(self.cards):
                self.grid.removeWidget(card)
                self.grid.addWidget(card, i // columns, i % columns)

    def _columns_for(self, width: int, height: int) -> tuple[int, bool]:
        """As few columns as let every title stand on one line, more where the cards would not fit in height.

        On a short screen (1024×600) the English titles, one a row, are taller than the room: more columns
        make fewer rows, and the titles wrap onto a second line within their narrower cards instead; never so
        many that a card is narrower than the longest word of a title. Also whether the cards fit at all.
        """
        margins = self._layout.contentsMargins()
        room = width - margins.left() - margins.right()
        widest = max(label.fontMetrics().horizontalAdvance(label.text()) for label in self.card_labels) + 48
        words = [(label.fontMetrics(), w) for label in self.card_labels for w in label.text().split()]
        word = max((metrics.horizontalAdvance(w) for metrics, w in words), default=0)
        most = max(1, min(MAX_COLUMNS, (room + _SPACING) // (word + 48 + _SPACING)))
        one_line = max(1, min(most, (room + _SPACING) // (widest + _SPACING)))
        # The grid's share of the height: what the title, the touch prompt and the spacing between leave.
        texts = self.title_label.heightForWidth(room) + self.touch_label.heightForWidth(room)
        free = height - margins.top() - margins.bottom() - texts - 2 * _SPACING
        needed = {c: self._grid_height(c, room) for c in range(one_line, most + 1)}
        fitting = next((c for c, h in needed.items() if h <= free), None)
        if fitting is not None:
            return fitting, True
        return min(needed, key=needed.__getitem__), False

    def _grid_height(self, columns: int, room: int) -> int:
        card_width = (room - (columns - 1) * _SPACING) // columns
        heights = [box.totalHeightForWidth(card_width) for box in self._card_boxes]
        rows = [max(heights[i : i + columns]) for i in range(0, len(heights), columns)]
        return sum(rows) + (len(rows) - 1) * _SPACING

    def mousePressEvent(self, event: QMouseEvent) -> None:
        # Anywhere, cards and labels included: they do not take mouse presses, so the press lands here.
        event.accept()
        self.touched.emit()
