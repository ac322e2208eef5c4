"""Touch-only use: scroll areas follow a finger and say there is more, a drag never presses the button it
starts on, the plate keyboard's clear key cannot be taken for the letter C and can be undone, and the window
fills a touch screen.

The pointer events here go in at the window (``QTest`` on the ``QWindow``), through the same gesture and
press-delay handling as a real finger's; ``tests/test_touch_walk.py`` does the same through an X server.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QInputDevice
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QApplication,
    QPushButton,
    QScrollArea,
    QScrollerProperties,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import translate
from ui.widgets.plate_keyboard import PlateKeyboard
from ui.widgets.touch_screen import touch_screen_for
from ui.widgets.touch_scroll import HINT_HEIGHT, make_touch_scrollable, touch_scroll_of

LEFT = Qt.MouseButton.LeftButton
NONE = Qt.KeyboardModifier.NoModifier
# Between one touch and the next (QTest's event clock): closer, two presses make a double click, which the
# scroller does not take for the start of a drag.
APART_MS = 450
MOVE_MS = 16  # between two moves of a dragging finger
SETTLE_MS = 300


class Rows:
    """A scroll area of 20 buttons, 300×400, recording which were pressed and which clicked."""

    def __init__(self) -> None:
        self.area = QScrollArea()
        inner = QWidget()
        layout = QVBoxLayout(inner)
        self.buttons: list[QPushButton] = []
        self.pressed: list[int] = []
        self.clicked: list[int] = []
        for i in range(20):
            button = QPushButton(f"row {i}")
            button.setMinimumHeight(64)
            button.pressed.connect(lambda i=i: self.pressed.append(i))
            button.clicked.connect(lambda _=False, i=i: self.clicked.append(i))
            layout.addWidget(button)
            self.buttons.append(button)
        self.area.setWidget(inner)
        self.area.setWidgetResizable(True)
        self.area.resize(300, 400)

    @property
    def value(self) -> int:
        return self.area.verticalScrollBar().value()

    @property
    def maximum(self) -> int:
        return self.area.verticalScrollBar().maximum()

    def at(self, index: int) -> QPoint:
        button = self.buttons[index]
        return button.mapTo(self.area, button.rect().center())

    def drag(self, start: QPoint, dy: int, hold_ms: int = 0, steps: int = 12) -> None:
        """Press at ``start``, wait ``hold_ms``, move ``dy`` in ``steps`` moves 16 ms apart, release."""
        window = self.area.windowHandle()
        QTest.mousePress(window, LEFT, NONE, start, APART_MS)
        if hold_ms:
            QTest.qWait(hold_ms)
        for i in range(1, steps + 1):
            QTest.mouseMove(window, start + QPoint(0, dy * i // steps), MOVE_MS)
        QTest.mouseRelease(window, LEFT, NONE, start + QPoint(0, dy), MOVE_MS)

    def tap(self, index: int) -> None:
        window = self.area.windowHandle()
        QTest.mousePress(window, LEFT, NONE, self.at(index), APART_MS)
        QTest.mouseRelease(window, LEFT, NONE, self.at(index), 60)


@pytest.fixture(scope="module")
def one_list(qapp: QApplication) -> Iterator[Rows]:
    # One window for every drag test: with QTest's synthetic events (not with a real pointer, see
    # tests/test_touch_walk.py) the first drag in a window opened after another was dragged is sometimes not
    # taken for a drag.
    rows = Rows()
    make_touch_scrollable(rows.area)
    rows.area.show()
    QTest.qWaitForWindowExposed(rows.area)
    yield rows
    rows.area.close()


@pytest.fixture
def rows(one_list: Rows, qtbot: Any) -> Rows:
    """The list back at its top, nothing pressed yet."""
    settle(qtbot, one_list)
    one_list.area.verticalScrollBar().setValue(0)
    one_list.pressed.clear()
    one_list.clicked.clear()
    return one_list


def settle(qtbot: Any, rows: Rows) -> None:
    scroller = touch_scroll_of(rows.area).scroller  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: scroller.state() == scroller.State.Inactive, timeout=5000)
    qtbot.wait(SETTLE_MS)


def flick(qtbot: Any, rows: Rows, start: QPoint, dy: int, hold_ms: int = 0) -> None:
    """A drag, done again (up to three times) where the offscreen platform did not follow it: there, now and
    then, a drag is recognised (the scroller goes pressed, dragging) but the list does not move. On an X
    server, with real pointer events (tests/test_touch_walk.py), every drag is followed."""
    for _ in range(3):
        before = rows.value
        rows.drag(start, dy, hold_ms)
        settle(qtbot, rows)
        if rows.value != before:
            return


def test_a_drag_that_starts_on_a_button_does_not_press_it(rows: Rows, qtbot: Any) -> None:
    flick(qtbot, rows, rows.at(3), -140)
    assert rows.value > 0
    assert rows.pressed == [] and rows.clicked == []  # not even pressed: the press was held back
    # A finger resting a while before it moves: the button shows pressed, then lets go without a click.
    rows.area.verticalScrollBar().setValue(0)
    flick(qtbot, rows, rows.at(3), -140, hold_ms=400)
    assert rows.clicked == [] and not rows.buttons[3].isDown()


def test_a_tap_still_presses_the_button(rows: Rows, qtbot: Any) -> None:
    rows.tap(2)
    qtbot.waitUntil(lambda: rows.clicked == [2], timeout=2000)
    assert rows.value == 0


def test_a_finger_drag_scrolls_and_a_flick_runs_on(rows: Rows, qtbot: Any) -> None:
    assert rows.maximum > 400  # 20 rows of 64 px in 400: there is something to scroll
    flick(qtbot, rows, rows.at(4), -150)
    # Kinetic: a quick 150 px drag carries the list on past the finger's travel.
    assert rows.value > 150


def test_the_hints_say_where_there_is_more(rows: Rows, qtbot: Any) -> None:
    helper = touch_scroll_of(rows.area)
    assert helper is not None
    assert helper.below.isVisible() and not helper.above.isVisible()
    assert helper.below.height() == HINT_HEIGHT and helper.below.width() == rows.area.viewport().width()
    # The hint lets touches through to the row under it.
    assert helper.below.testAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
    rows.area.verticalScrollBar().setValue(rows.maximum // 2)
    assert helper.below.isVisible() and helper.above.isVisible()
    rows.area.verticalScrollBar().setValue(rows.maximum)
    assert helper.above.isVisible() and not helper.below.isVisible()
    # Drawn: the fade and the round arrow darken the bottom of a white list.
    rows.area.verticalScrollBar().setValue(0)
    image = rows.area.grab().toImage()
    badge = helper.below.geometry().center() + QPoint(0, 4 + 16)  # inside the round arrow, below the chevron
    colour = image.pixelColor(badge)
    assert colour.blue() > colour.red() + 60  # the blue badge
    # The desktop bar with its 10-pixel arrows is gone: the hints and the finger replace it.
    assert not rows.area.verticalScrollBar().isVisible()


def test_it_stops_dead_at_the_ends(rows: Rows, qtbot: Any) -> None:
    properties = touch_scroll_of(rows.area).scroller.scrollerProperties()  # type: ignore[union-attr]
    off = QScrollerProperties.OvershootPolicy.OvershootAlwaysOff
    assert properties.scrollMetric(QScrollerProperties.ScrollMetric.VerticalOvershootPolicy) == off
    content = rows.area.widget()
    positions: list[int] = []
    rows.area.verticalScrollBar().valueChanged.connect(lambda _: positions.append(content.y()))
    for _ in range(6):  # far past the end
        rows.drag(rows.at(4) if rows.value == 0 else QPoint(150, 300), -300)
        settle(qtbot, rows)
    assert rows.value == rows.maximum
    # No rubber band: the content never went further than the last row's place, nor does it pull past it.
    assert min(positions) == -rows.maximum and content.y() == -rows.maximum
    rows.drag(QPoint(150, 300), -200, steps=20)
    assert content.y() == -rows.maximum


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_plate_clear_key_is_not_a_letter_and_can_be_undone(qtbot: Any, language: str) -> None:
    keyboard = PlateKeyboard(language)
    qtbot.addWidget(keyboard)
    keyboard.resize(900, 420)
    keyboard.show()
    qtbot.waitExposed(keyboard)
    clear, back = keyboard.buttons["clear"], keyboard.buttons["back"]
    assert clear.text() == translate("plate.clear", language) and clear.text() not in ("C", "c")
    assert clear.text() == {"zh-CN": "清空", "en": "Clear"}[language]
    # Apart from the letters (not on the keys' pages) and from ⌫.
    assert not keyboard.pages.isAncestorOf(clear)
    assert clear.geometry().left() - back.geometry().right() >= 48
    letter_c = keyboard.buttons["C"]
    keyboard.type_plate("粤C1234")
    assert keyboard.text == "粤C1234" and letter_c.text() == "C"
    QTest.mouseClick(clear, LEFT)
    assert keyboard.text == ""
    assert back.text() == translate("plate.undo", language)  # says what it will do now
    QTest.mouseClick(back, LEFT)
    assert keyboard.text == "粤C1234" and back.text() == "⌫"
    QTest.mouseClick(back, LEFT)  # an ordinary ⌫ again
    assert keyboard.text == "粤C123"
    # A key pressed after clearing ends the chance to undo: ⌫ then takes back that key only.
    QTest.mouseClick(clear, LEFT)
    keyboard.press("京")
    keyboard.press("back")
    assert keyboard.text == "" and back.text() == "⌫"


def test_a_touch_screen_makes_the_window_fill_its_screen(qapp: QApplication) -> None:
    screen = qapp.primaryScreen()
    touch = [d for d in QInputDevice.devices() if d.type() == QInputDevice.DeviceType.TouchScreen]
    assert not touch  # the offscreen platform has none: a developer's desk
    assert not touch_screen_for(screen)
    QTest.createTouchDevice(QInputDevice.DeviceType.TouchScreen)
    assert touch_screen_for(screen)


def test_without_the_helper_a_drag_does_nothing(qtbot: Any) -> None:
    rows = Rows()
    qtbot.addWidget(rows.area)
    rows.area.show()
    qtbot.waitExposed(rows.area)
    rows.drag(rows.at(4), -150)
    QTest.qWait(300)
    assert rows.value == 0
