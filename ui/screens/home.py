"""Home: large buttons to the checkpoint scanner and to manual ID entry; in self-service mode, one large
button per loaded service (titles from the definitions, in the current language). At the bottom, the two
comfort modes (large text, high contrast) for whoever stands at the kiosk.

The buttons reflow with the window: side by side while they fit, stacked on a narrow (portrait) screen, and
as many service columns as the longest title allows. The services sit in a page a finger scrolls: seven or
more services in large text on a 1024x600 panel are taller than the room, and a cut-off title is worse than
one more drag.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import translate
from ui.accessibility import MODES
from ui.widgets.touch_scroll import touch_scroll_page
from ui.widgets.wrap_button import WrapButton

MAX_SERVICE_COLUMNS = 4
MIN_TARGET = 64
# The buttons grow with the screen up to these heights; beyond, the space goes above and below them.
BIG_BUTTON_HEIGHT = 240
SERVICE_HEIGHT = 180
# Wider than this, a service title is worth a row of its own rather than a second line.
SERVICE_WIDTH = 300
_MARGIN = 32
_SPACING = 24
_TEXT_MARGIN = 20  # a WrapButton's label margin (16) and a few pixels of its frame


def _longest_word(button: WrapButton) -> int:
    """The width of the longest space-separated word of the button's text (a Chinese title is one)."""
    metrics = button.label.fontMetrics()
    return max((metrics.horizontalAdvance(w) for w in button.text().split()), default=0)


class HomeScreen(QWidget):
    scan_requested = Signal()
    manual_requested = Signal()
    service_requested = Signal(str)
    check_requested = Signal()  # "check my application" (self-service kiosks)
    # The mode's name ("large_text" or "high_contrast"), not a bool: see ui/widgets/choice_buttons.py.
    access_toggled = Signal(str)

    def __init__(
        self,
        language: str,
        self_service: bool,
        parent: QWidget | None = None,
        services: Sequence[tuple[str, Mapping[str, str]]] = (),
    ) -> None:
        super().__init__(parent)
        # (service id, titles by language), in home-screen order.
        self.services = list(services) if self_service else []
        self.self_service = self_service
        self.storage_full = False
        self.language = language
        self.service_buttons: dict[str, WrapButton] = {}
        self.setObjectName("homeScreen")
        self.title_label = QLabel()
        self.title_label.setObjectName("homeTitle")
        self.title_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.scan_button = QPushButton()
        self.scan_button.setObjectName("bigButton")
        self.scan_button.clicked.connect(self.scan_requested)
        self.manual_button = QPushButton()
        self.manual_button.setObjectName("bigButton")
        self.manual_button.clicked.connect(self.manual_requested)
        # Self-service forms come with a later release; in that mode the screen says so instead of
        # offering buttons that lead nowhere.
        self.notice_label = QLabel()
        self.notice_label.setObjectName("homeNotice")
        self.notice_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.notice_label.setWordWrap(True)
        self.notice_label.setVisible(self_service and not self.services)
        services_page = QWidget()
        self.service_grid = QGridLayout()
        self.service_grid.setSpacing(_SPACING)
        # The page takes the whole height the screen leaves; where the buttons need less, they stand centred.
        page_layout = QVBoxLayout(services_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.addStretch(1)
        page_layout.addLayout(self.service_grid, 4)
        page_layout.addStretch(1)
        self.service_scroll = touch_scroll_page(services_page, "serviceScroll")
        self.service_scroll.setVisible(bool(self.services))
        # The screen's own background behind the buttons, not a lighter panel of the scroll area's.
        self.service_scroll.viewport().setAutoFillBackground(False)
        services_page.setAutoFillBackground(False)
        self._columns = 0
        for service_id, _ in self.services:
            service_button = WrapButton()
            service_button.setObjectName("serviceButton")
            service_button.setMinimumWidth(MIN_TARGET)
            service_button.setMaximumHeight(SERVICE_HEIGHT)
            # Every column as wide as the others, whatever the length of its titles: a column squeezed for a
            # longer title beside it would cut a long word ("registration") in two.
            policy = service_button.sizePolicy()
            policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
            service_button.setSizePolicy(policy)
            service_button.clicked.connect(lambda _=False, s=service_id: self.service_requested.emit(s))
            self.service_buttons[service_id] = service_button
        self.access_buttons: dict[str, QPushButton] = {}
        self.access = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.access.setSpacing(_SPACING)
        # Beside the comfort switches, so it costs the services no room: the way back for whoever holds a
        # receipt and wants the decision on it.
        self.check_button = QPushButton()
        self.check_button.setObjectName("checkButton")
        self.check_button.setMinimumWidth(MIN_TARGET)
        self.check_button.clicked.connect(self.check_requested)
        self.check_button.setVisible(bool(self.services))
        if self.services:
            self.access.addWidget(self.check_button)
        for mode in MODES:
            button = QPushButton()
            button.setObjectName("accessButton")
            button.setCheckable(True)
            button.setMinimumWidth(MIN_TARGET)
            button.clicked.connect(lambda _=False, m=mode: self.access_toggled.emit(m))
            self.access.addWidget(button)
            self.access_buttons[mode] = button
        # A self-service kiosk offers its services; checking codes is for checkpoint staff.
        self.scan_button.setVisible(not self.services)
        self.manual_button.setVisible(not self.services)

        for button in (self.scan_button, self.manual_button):
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            # A nominal minimum, the same whichever way they stand: the window may then be narrower (or lower)
            # than the two side by side (or stacked), and _reflow arranges them before their text is cut.
            button.setMinimumSize(MIN_TARGET, MIN_TARGET)
            button.setMaximumHeight(BIG_BUTTON_HEIGHT)
        self.buttons = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        self.buttons.setSpacing(_SPACING)
        self.buttons.addWidget(self.scan_button)
        self.buttons.addWidget(self.manual_button)
        self.title_label.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(_MARGIN, _MARGIN // 2, _MARGIN, _MARGIN // 2)
        layout.setSpacing(_SPACING)
        # With services, the scrolling page takes the spare height (and centres its buttons in it).
        layout.addStretch(0 if self.services else 1)
        layout.addWidget(self.title_label)
        # The space goes to whichever set of buttons this kiosk shows.
        layout.addLayout(self.buttons, 0 if self.services else 4)
        layout.addWidget(self.service_scroll, 4 if self.services else 0)
        layout.addWidget(self.notice_label)
        layout.addStretch(0 if self.services else 1)
        layout.addLayout(self.access)
        self.retranslate(language)

    def set_access(self, large_text: bool, high_contrast: bool) -> None:
        """Show which comfort modes are on (the window owns them; this screen only offers the switches)."""
        self.access_buttons["large_text"].setChecked(large_text)
        self.access_buttons["high_contrast"].setChecked(high_contrast)
        self._reflow()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._reflow()

    def _reflow(self) -> None:
        """Side by side while the buttons' texts fit across, stacked (or fewer columns) when they do not."""
        room = self.width() - 2 * _MARGIN
        for box in (self.buttons, self.access):
            # itemAt() is None only for an index past count(), never here.
            items = [item.widget() for i in range(box.count()) if (item := box.itemAt(i)) is not None]
            across = sum(w.sizeHint().width() for w in items if w) + _SPACING * (len(items) - 1)
            box.setDirection(
                QBoxLayout.Direction.LeftToRight if across <= room else QBoxLayout.Direction.TopToBottom
            )
        if not self.service_buttons:
            return
        buttons = list(self.service_buttons.values())
        # A word is never broken: no column narrower than the longest word of any title (and its margins).
        word = max(_longest_word(b) for b in buttons) + 2 * _TEXT_MARGIN
        widest = max(word, min(SERVICE_WIDTH, max(b.sizeHint().width() for b in buttons)))
        columns = max(1, min(MAX_SERVICE_COLUMNS, (room + _SPACING) // (widest + _SPACING)))
        for button in buttons:
            button.setMinimumWidth(max(MIN_TARGET, min(word, room)))
        if columns == self._columns:
            return
        self._columns = columns
        for column in range(MAX_SERVICE_COLUMNS):
            self.service_grid.setColumnStretch(column, 1 if column < columns else 0)
        for i, button in enumerate(buttons):
            self.service_grid.removeWidget(button)
            self.service_grid.addWidget(button, i // columns, i % columns)

    def set_storage_full(self, full: bool) -> None:
        """While the kiosk has no room for new submissions the notice says so; a tapped service stays shut."""
        self.storage_full = full
        self.notice_label.setText(self._notice())
        self.notice_label.setVisible(full or (self.self_service and not self.services))

    def _notice(self) -> str:
        key = "home.storage_full" if self.storage_full else "home.self_service_missing"
        return translate(key, self.language)

    def retranslate(self, language: str) -> None:
        self.title_label.setText(translate("home.title", language))
        self.scan_button.setText(translate("home.scan", language))
        self.manual_button.setText(translate("home.manual", language))
        self.language = language
        self.notice_label.setText(self._notice())
        if self.services:
            self.title_label.setText(translate("home.self_service_title", language))
        for service_id, titles in self.services:
            self.service_buttons[service_id].setText(titles.get(language) or titles["zh-CN"])
        for mode, button in self.access_buttons.items():
            button.setText(translate(f"access.{mode}", language))
        self.check_button.setText(translate("home.check_application", language))
        self._columns = 0  # the titles' widths changed with the language
        self._reflow()

    def clear_personal_data(self) -> None:
        """Home shows nothing personal; present so that every screen can be cleared the same way."""
