"""The outbox page: items waiting and items the server refused (with its reasons), retry and export to a
USB stick; the last receipts to print again, a test print, and the logs (scrubbed) to the stick."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from kiosk.admin.receipts import RecentReceipt
from kiosk.i18n import translate
from kiosk.outbox import QuarantinedItem
from ui.admin.keyboard import OnScreenKeyboard
from ui.widgets.orientation import follow_orientation
from ui.widgets.style import set_style_state
from ui.widgets.touch_scroll import make_touch_scrollable

MAX_MOUNT_BUTTONS = 3


def _local(iso: str | None) -> str:
    if not iso:
        return "—"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%m-%d %H:%M")
    except ValueError:
        return iso


def _heading(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    return label


def _button(name: str = "secondaryButton") -> QPushButton:
    button = QPushButton()
    button.setObjectName(name)
    return button


class OutboxPage(QWidget):
    retry_requested = Signal(list)  # item ids
    export_items_requested = Signal(str)  # folder
    export_logs_requested = Signal(str)
    reprint_requested = Signal(int)  # print job id
    test_print_requested = Signal()
    mounts_requested = Signal()

    def __init__(self, language: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("adminOutboxPage")
        self.language = language
        self._pending = 0
        self._oldest: str | None = None
        self._held: list[QuarantinedItem] = []
        self._printer_here = True

        self.queue_heading = _heading("adminHeading")
        self.summary = QLabel()
        self.summary.setObjectName("adminSummary")
        self.summary.setWordWrap(True)
        self.held_list = QListWidget()
        self.held_list.setObjectName("adminList")
        self.held_list.setWordWrap(True)
        make_touch_scrollable(self.held_list)
        self.retry_button = _button()
        self.retry_button.clicked.connect(self._retry_selected)
        self.retry_all_button = _button()
        self.retry_all_button.clicked.connect(
            lambda: self.retry_requested.emit([i.item_id for i in self._held])
        )
        retry_row = QHBoxLayout()
        retry_row.addWidget(self.retry_button)
        retry_row.addWidget(self.retry_all_button)

        self.usb_heading = _heading("adminHeading")
        self.folder = QLineEdit()
        self.folder.setObjectName("settingLine")
        self.mount_row = QHBoxLayout()
        self.mount_buttons: list[QPushButton] = []
        self.find_button = _button()
        self.find_button.clicked.connect(self.mounts_requested)
        self.mount_row.addWidget(self.find_button)
        self.mount_row.addStretch(1)
        self.export_button = _button("primaryButton")
        self.export_button.clicked.connect(
            lambda: self.export_items_requested.emit(self.folder.text().strip())
        )
        self.logs_button = _button("primaryButton")
        self.logs_button.clicked.connect(lambda: self.export_logs_requested.emit(self.folder.text().strip()))
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addWidget(self.logs_button)

        left = QVBoxLayout()
        left.setSpacing(8)
        left.addWidget(self.queue_heading)
        left.addWidget(self.summary)
        left.addWidget(self.held_list, 1)
        left.addLayout(retry_row)
        left.addSpacing(8)
        left.addWidget(self.usb_heading)
        left.addWidget(self.folder)
        left.addLayout(self.mount_row)
        left.addLayout(export_row)

        self.receipts_heading = _heading("adminHeading")
        self.receipt_list = QListWidget()
        self.receipt_list.setObjectName("adminList")
        make_touch_scrollable(self.receipt_list)
        self.reprint_button = _button()
        self.reprint_button.clicked.connect(self._reprint_selected)
        self.test_button = _button()
        self.test_button.clicked.connect(self.test_print_requested)
        print_row = QHBoxLayout()
        print_row.addWidget(self.reprint_button)
        print_row.addWidget(self.test_button)
        receipts = QWidget()
        receipts_layout = QVBoxLayout(receipts)
        receipts_layout.setContentsMargins(0, 0, 0, 0)
        receipts_layout.addWidget(self.receipts_heading)
        receipts_layout.addWidget(self.receipt_list, 1)
        receipts_layout.addLayout(print_row)
        # Typing a folder needs the keyboard; it takes the receipts' place while the folder field has focus.
        self.keyboard = OnScreenKeyboard(language)
        keyboard_box = QWidget()
        keyboard_layout = QVBoxLayout(keyboard_box)
        keyboard_layout.setContentsMargins(0, 0, 0, 0)
        keyboard_layout.addStretch(1)
        keyboard_layout.addWidget(self.keyboard)
        self.right = QStackedWidget()
        self.right.addWidget(receipts)
        self.right.addWidget(keyboard_box)
        self.folder.installEventFilter(self)

        self.status = QLabel()
        self.status.setObjectName("adminMessage")
        self.status.setWordWrap(True)
        # Side by side in landscape, one above the other in portrait (where side by side the buttons would
        # be too narrow for their text); scrolled where the screen is too short for both, or the keyboard.
        content = QWidget()
        content.setObjectName("outboxContent")
        self.columns = QBoxLayout(QBoxLayout.Direction.LeftToRight, content)
        self.columns.setContentsMargins(0, 0, 0, 0)
        self.columns.setSpacing(24)
        self.columns.addLayout(left, 11)
        self.columns.addWidget(self.right, 10)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("outboxScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setWidget(content)
        make_touch_scrollable(self.scroll_area)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 12, 24, 12)
        layout.addWidget(self.scroll_area, 1)
        layout.addWidget(self.status)
        self.retranslate(language)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        follow_orientation(self.columns, event.size())

    # --- content -------------------------------------------------------------------------------------------

    def show_outbox(self, pending: int, oldest: str | None, held: list[QuarantinedItem]) -> None:
        self._pending, self._oldest, self._held = pending, oldest, list(held)
        self.held_list.clear()
        for item in held:
            text = f"{translate(f'admin.kind.{item.kind}', self.language)} · {item.item_id[:8]} · "
            text += f"{_local(item.quarantined_at)}\n{item.reason}"
            row = QListWidgetItem()
            row.setData(Qt.ItemDataRole.UserRole, item.item_id)
            # A label per row: the list's own painting elides a two-line text (what, then the reason) to one.
            label = QLabel(text)
            label.setObjectName("heldItem")
            label.setWordWrap(True)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            row.setSizeHint(QSize(0, label.sizeHint().height() + 16))
            self.held_list.addItem(row)
            self.held_list.setItemWidget(row, label)
        self.retry_button.setEnabled(bool(held))
        self.retry_all_button.setEnabled(bool(held))
        self._fill_summary()

    def show_receipts(self, receipts: list[RecentReceipt], printer_here: bool) -> None:
        self._printer_here = printer_here
        self.receipt_list.clear()
        for receipt in receipts:
            status = translate(f"admin.print_status.{receipt.status}", self.language)
            row = QListWidgetItem(f"{receipt.number} · {_local(receipt.created_at)} · {status}")
            row.setData(Qt.ItemDataRole.UserRole, receipt.job_id)
            self.receipt_list.addItem(row)
        if not receipts:
            self.receipt_list.addItem(translate("admin.receipts.none", self.language))
        self.reprint_button.setEnabled(printer_here and bool(receipts))
        self.test_button.setEnabled(printer_here)
        if self.receipt_list.count() and receipts:
            self.receipt_list.setCurrentRow(0)

    def set_mounts(self, mounts: list[Path]) -> None:
        for button in self.mount_buttons:
            self.mount_row.removeWidget(button)
            button.deleteLater()
        self.mount_buttons = []
        for index, mount in enumerate(mounts[:MAX_MOUNT_BUTTONS]):
            button = _button()
            button.setText(mount.name)
            button.clicked.connect(lambda _=False, m=mount: self.folder.setText(str(m)))
            self.mount_row.insertWidget(1 + index, button)
            self.mount_buttons.append(button)
        if mounts and not self.folder.text().strip():
            self.folder.setText(str(mounts[0]))
        if not mounts:
            self.show_status(translate("admin.usb.none", self.language), "warn")

    def show_status(self, text: str, severity: str) -> None:
        self.status.setText(text)
        set_style_state(self.status, "severity", severity)

    def held_text(self, row: int) -> str:
        label = self.held_list.itemWidget(self.held_list.item(row))
        return label.text() if isinstance(label, QLabel) else ""

    def select_held(self, item_id: str) -> None:
        for row in range(self.held_list.count()):
            if self.held_list.item(row).data(Qt.ItemDataRole.UserRole) == item_id:
                self.held_list.setCurrentRow(row)

    # --- actions -------------------------------------------------------------------------------------------

    def _retry_selected(self) -> None:
        row = self.held_list.currentItem()
        if row is not None:
            self.retry_requested.emit([row.data(Qt.ItemDataRole.UserRole)])

    def _reprint_selected(self) -> None:
        row = self.receipt_list.currentItem()
        job_id = row.data(Qt.ItemDataRole.UserRole) if row is not None else None
        if isinstance(job_id, int):
            self.reprint_requested.emit(job_id)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Keys take no focus, so typing keeps the keyboard up; focus anywhere else puts the receipts back.
        if watched is self.folder and event.type() in (QEvent.Type.FocusIn, QEvent.Type.FocusOut):
            self.right.setCurrentIndex(1 if event.type() == QEvent.Type.FocusIn else 0)
        return False

    def clear_personal_data(self) -> None:
        """Nothing personal here: numbers, ids and the server's reasons."""

    def retranslate(self, language: str) -> None:
        self.language = language
        self.keyboard.set_language(language)
        self.queue_heading.setText(translate("admin.outbox.heading", language))
        self.retry_button.setText(translate("admin.outbox.retry", language))
        self.retry_all_button.setText(translate("admin.outbox.retry_all", language))
        self.usb_heading.setText(translate("admin.usb.heading", language))
        self.folder.setPlaceholderText(translate("admin.usb.placeholder", language))
        self.find_button.setText(translate("admin.usb.find", language))
        self.export_button.setText(translate("admin.outbox.export", language))
        self.logs_button.setText(translate("admin.logs.export", language))
        self.receipts_heading.setText(translate("admin.receipts.heading", language))
        self.reprint_button.setText(translate("admin.receipts.reprint", language))
        self.test_button.setText(translate("admin.receipts.test", language))
        self._fill_summary()

    def _fill_summary(self) -> None:
        self.summary.setText(
            translate(
                "admin.outbox.summary",
                self.language,
                pending=self._pending,
                oldest=_local(self._oldest),
                held=len(self._held),
            )
        )
