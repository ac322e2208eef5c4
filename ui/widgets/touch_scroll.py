"""Scroll areas that follow a finger: the one helper every scroll area in ``ui/`` goes through.

A kiosk has a touch screen and nothing else, so a list taller than its place must move under a finger drag,
stop dead at its ends (no rubber-band overshoot that a person reads as "it bounced back, so there is no
more"), and say that there is more: a fade with a large round arrow at the edge that has more, not the
10-pixel arrows of a desktop scroll bar (which is switched off: dragging anywhere replaces it).

The scroller grabs the *left mouse button* gesture, not Qt's touch gesture. On X11 a touch screen reaches
Qt either as XInput2 touch events, which Qt turns into mouse events for widgets that do not take touch (the
default, ``AA_SynthesizeMouseForUnhandledTouchEvents``), or, with many drivers and evdev set-ups, as a plain
emulated pointer; the mouse gesture recognises both, and a mouse on a developer's desk as well. A touch
gesture would miss the emulated pointer.

A press that turns into a drag must not press the button under the finger. The scroller holds a press back
for ``MousePressEventDelay``: a drag that starts within it never reaches the button; a slower one gets the
press and then a release far outside the window, so the button is not clicked either (Qt's flick gesture
handles both; ``tests/test_ui_touch_scroll.py`` and the real-input walk check it).
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QPointF, QRect, Qt
from PySide6.QtGui import QColor, QLinearGradient, QPainter, QPaintEvent, QPen, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QFrame,
    QScrollArea,
    QScroller,
    QScrollerProperties,
    QSizePolicy,
    QWidget,
)

HINT_HEIGHT = 64  # the fade at an edge with more beyond it
BADGE = 48  # the round arrow in it: large enough to be seen from arm's length
PRESS_DELAY_S = 0.2  # how long a press waits to see whether it becomes a drag
_ACCENT = QColor("#1565C0")


class ScrollHint(QWidget):
    """The fade and round arrow at one edge of a scroll area, shown while there is more beyond that edge.

    A child of the scroll area itself, not of its viewport: an item view scrolls its viewport's children
    with the items. It lets every touch through to what is under it.
    """

    def __init__(self, area: QAbstractScrollArea, down: bool) -> None:
        super().__init__(area)
        self.setObjectName("scrollHintBelow" if down else "scrollHintAbove")
        self.down = down
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.hide()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        h, w = self.height(), self.width()
        # A grey shadow over any background (white, or black in high contrast), darkest at the edge.
        fade = QLinearGradient(0, 0, 0, h)
        clear, shade = QColor(96, 125, 139, 0), QColor(96, 125, 139, 150)
        fade.setColorAt(0.0, clear if self.down else shade)
        fade.setColorAt(1.0, shade if self.down else clear)
        painter.fillRect(self.rect(), fade)
        # The round arrow: blue with a white rim, seen on a light or a dark page alike.
        badge = QRect((w - BADGE) // 2, (h - BADGE) // 2 + (4 if self.down else -4), BADGE, BADGE)
        painter.setPen(QPen(QColor("#FFFFFF"), 3))
        painter.setBrush(_ACCENT)
        painter.drawEllipse(badge)
        cx, cy, s = badge.center().x(), badge.center().y(), BADGE / 5
        tip = 1 if self.down else -1
        painter.setPen(QPen(QColor("#FFFFFF"), 5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPolyline(
            QPolygonF(
                [
                    QPointF(cx - s, cy - tip * s / 2),
                    QPointF(cx, cy + tip * s / 2),
                    QPointF(cx + s, cy - tip * s / 2),
                ]
            )
        )
        painter.end()


class TouchScroll(QObject):
    """Kinetic finger scrolling and the "more" hints of one scroll area (:func:`make_touch_scrollable`)."""

    def __init__(self, area: QAbstractScrollArea) -> None:
        super().__init__(area)
        self.setObjectName("touchScroll")
        self.area = area
        area.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        if isinstance(area, QAbstractItemView):
            # Item by item, a list jumps under the finger instead of following it.
            area.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        viewport = area.viewport()
        QScroller.grabGesture(viewport, QScroller.ScrollerGestureType.LeftMouseButtonGesture)
        self.scroller = QScroller.scroller(viewport)
        properties = self.scroller.scrollerProperties()
        off = QScrollerProperties.OvershootPolicy.OvershootAlwaysOff
        for metric, value in (
            (QScrollerProperties.ScrollMetric.VerticalOvershootPolicy, off),
            (QScrollerProperties.ScrollMetric.HorizontalOvershootPolicy, off),
            (QScrollerProperties.ScrollMetric.MousePressEventDelay, PRESS_DELAY_S),
        ):
            properties.setScrollMetric(metric, value)
        self.scroller.setScrollerProperties(properties)
        self.above = ScrollHint(area, down=False)
        self.below = ScrollHint(area, down=True)
        bar = area.verticalScrollBar()
        bar.valueChanged.connect(self.update_hints)
        bar.rangeChanged.connect(self.update_hints)
        area.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.area and event.type() in (QEvent.Type.Resize, QEvent.Type.Show):
            self.update_hints()
        return False

    def update_hints(self) -> None:
        bar = self.area.verticalScrollBar()
        view = self.area.viewport().geometry()
        height = min(HINT_HEIGHT, view.height() // 3)
        self.above.setGeometry(view.x(), view.y(), view.width(), height)
        self.below.setGeometry(view.x(), view.bottom() + 1 - height, view.width(), height)
        for hint, more in (
            (self.above, bar.value() > bar.minimum()),
            (self.below, bar.value() < bar.maximum()),
        ):
            hint.setVisible(more)
            if more:
                hint.raise_()

    @property
    def more_below(self) -> bool:
        bar = self.area.verticalScrollBar()
        return bar.value() < bar.maximum()


def make_touch_scrollable(area: QAbstractScrollArea) -> QAbstractScrollArea:
    """Make ``area`` follow a finger and show when it has more; returns it, for use in an expression."""
    if touch_scroll_of(area) is None:
        TouchScroll(area)
    return area


def touch_scroll_of(area: QAbstractScrollArea) -> TouchScroll | None:
    """The helper installed on ``area``, or None where it scrolls only by its (hidden) bar."""
    return area.findChild(TouchScroll, "touchScroll", Qt.FindChildOption.FindDirectChildrenOnly)


def touch_scroll_page(content: QWidget, name: str) -> QScrollArea:
    """``content`` in a borderless scroll area that follows a finger: a page that scrolls only where the
    screen is too short for it (a 1024×600 panel), instead of cutting off its lowest keys or choices.

    It takes no focus: a touch on a key leaves the cursor in the line edit being typed into."""
    area = QScrollArea()
    area.setObjectName(name)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    # Only up and down: the content takes the viewport's width, as it took the page's (keyboards reflow
    # their keys to it), rather than asking for the width of its widest layout.
    policy = content.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    content.setSizePolicy(policy)
    area.setWidget(content)
    make_touch_scrollable(area)
    return area
