"""The top bar: home button, site and checkpoint, camera / network / upload status, problem icons, clock,
language. The site name is also where the hidden admin gesture is tapped (ui/admin/gesture.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.admin.health import Problem
from kiosk.i18n import translate
from ui.admin.problem_icons import ProblemIcons
from ui.scan_pipeline import CameraState
from ui.widgets.flow_layout import FlowLayout
from ui.widgets.style import set_style_state

REASON_MAX_PX = 340  # the full reason is in the log and the tooltip; the bar only has room for a hint


def _label(name: str, parent: QWidget | None = None) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(name)
    return label


class _ReasonLabel(QLabel):
    """The camera's reason, elided to a fixed width: a long driver message must not widen the bar past the
    screen. It is elided again when its font changes (large text), or the old font's cut would not fit."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("cameraReason")
        self.setFixedWidth(REASON_MAX_PX)
        self._full = ""

    def set_reason(self, reason: str) -> None:
        self._full = reason
        self.setToolTip(reason)
        self.setVisible(bool(reason))
        self._elide()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, REASON_MAX_PX))


class TopBar(QFrame):
    home_requested = Signal()
    language_toggled = Signal()
    date_changed = Signal()

    def __init__(
        self,
        site_name: str,
        checkpoint_id: str,
        language: str,
        clock: Callable[[], datetime] = datetime.now,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("topBar")
        self.language = language
        self._checkpoint_id = checkpoint_id
        self._clock = clock
        self._camera_state = CameraState.STARTING.value
        self._online = False
        self._pending: int | None = None
        self._day = clock().date()

        self.home_button = QPushButton()
        self.home_button.setObjectName("homeButton")
        self.home_button.clicked.connect(self.home_requested)
        self.site_label = _label("siteName")
        self.site_label.setText(site_name)
        self.checkpoint_label = _label("checkpointId")
        self.camera_label = _label("cameraStatus")
        self.camera_reason_label = _ReasonLabel()
        self.network_label = _label("networkStatus")
        self.pending_label = _label("pendingCount")
        # Shown only while the receipt printer needs attention (paper out, cover open, offline…).
        self.printer_label = _label("printerStatus")
        self.printer_label.hide()
        self._printer_state = "ready"
        # One icon per problem the health monitor finds (camera, printer, disk low, sync stale…).
        self.problem_icons = ProblemIcons(language)
        self.clock_label = _label("clock")
        self.language_button = QPushButton()
        self.language_button.setObjectName("languageButton")
        self.language_button.clicked.connect(self.language_toggled)

        # The statuses and the clock: beside the site on a wide screen, on a second row of their own on a
        # narrow (portrait) one. Their minimum width is nominal so that the bar never holds the window wider
        # than the screen; resizeEvent moves them before they would be squeezed.
        # On the second row they wrap onto as many lines as they need when several things are wrong at once.
        self.status_box = QWidget()
        self.status_box.setMinimumWidth(1)
        status = FlowLayout(self.status_box)
        status.addWidget(self._column(self.camera_label, self.camera_reason_label))
        status.addWidget(self._column(self.network_label, self.pending_label))
        status.addWidget(self.printer_label)
        status.addWidget(self.problem_icons)
        status.addWidget(self.clock_label)
        self._first_row = QHBoxLayout()
        self._first_row.setSpacing(20)
        self._first_row.addWidget(self.home_button)
        self._first_row.addWidget(self._column(self.site_label, self.checkpoint_label))
        self._first_row.addStretch(1)
        self._first_row.addWidget(self.status_box)
        self._first_row.addWidget(self.language_button)
        self._second_row = QHBoxLayout()
        self._layout = QVBoxLayout(self)  # kept: its margins count in the width the first row needs
        self._layout.setContentsMargins(12, 4, 12, 4)
        self._layout.setSpacing(4)
        self._layout.addLayout(self._first_row)
        self._layout.addLayout(self._second_row)

        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._tick()
        self.retranslate(language)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._place_status()

    def _place_status(self) -> None:
        """On the first row while everything fits across, else on the second."""
        first = self._first_row
        in_first = first.indexOf(self.status_box) >= 0
        margins = self._layout.contentsMargins()
        # A little to spare: a label squeezed by a few pixels cuts its last letter.
        needed = first.sizeHint().width() + margins.left() + margins.right() + 40
        if not in_first:
            needed += self.status_box.sizeHint().width() + first.spacing()
        if needed <= self.width() and not in_first:
            first.insertWidget(first.count() - 1, self.status_box)
        elif needed > self.width() and in_first:
            self._second_row.addWidget(self.status_box)

    @staticmethod
    def _column(top: QWidget, bottom: QWidget) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        column.addWidget(top)
        column.addWidget(bottom)
        return box

    def set_home_visible(self, visible: bool) -> None:
        self.home_button.setVisible(visible)
        self._place_status()

    def set_camera_status(self, state: str, reason: str) -> None:
        self._camera_state = state
        self.camera_reason_label.set_reason(reason)  # not translated: the driver's own words
        set_style_state(self.camera_label, "state", state)
        self._fill()

    def set_network_status(self, online: bool) -> None:
        """Driven by the upload/sync service; until one is configured the kiosk is offline."""
        self._online = online
        set_style_state(self.network_label, "state", "ok" if online else "offline")
        self._fill()

    def set_printer_status(self, state: str) -> None:
        """A receipt printer state (``devices.printer.PrinterState`` value); hidden while it can print."""
        self._printer_state = state
        set_style_state(self.printer_label, "state", state)
        self._fill()

    def set_site(self, site_name: str, checkpoint_id: str) -> None:
        self.site_label.setText(site_name)
        self._checkpoint_id = checkpoint_id
        self._fill()

    def set_problems(self, problems: list[Problem]) -> None:
        self.problem_icons.set_problems(problems)

    def set_pending(self, count: int) -> None:
        self._pending = count
        self._fill()

    @property
    def camera_state(self) -> str:
        return self._camera_state

    def retranslate(self, language: str) -> None:
        self.language = language
        self.home_button.setText(translate("nav.home", language))
        self.language_button.setText(translate("lang.switch", language))
        self.problem_icons.retranslate(language)
        self._fill()

    def _fill(self) -> None:
        lang = self.language
        self.checkpoint_label.setText(translate("topbar.checkpoint", lang, id=self._checkpoint_id))
        self.camera_label.setText(translate(f"camera.{self._camera_state}", lang))
        self.network_label.setText(translate("network.online" if self._online else "network.offline", lang))
        self.printer_label.setText(translate(f"printer.{self._printer_state}", lang))
        self.printer_label.setVisible(self._printer_state != "ready")
        self.pending_label.setText(
            "" if self._pending is None else translate("pending.count", lang, n=self._pending)
        )
        self._place_status()  # the texts' widths changed

    def _tick(self) -> None:
        now = self._clock()
        self.clock_label.setText(now.strftime("%H:%M:%S"))
        if now.date() != self._day:
            self._day = now.date()
            self.date_changed.emit()
