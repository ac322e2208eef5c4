"""Home: large buttons to the checkpoint scanner and to manual ID entry."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import translate


class HomeScreen(QWidget):
    scan_requested = Signal()
    manual_requested = Signal()

    def __init__(self, language: str, self_service: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
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
        self.notice_label.setVisible(self_service)

        buttons = QHBoxLayout()
        buttons.setSpacing(48)
        buttons.addStretch(1)
        buttons.addWidget(self.scan_button, 3)
        buttons.addWidget(self.manual_button, 3)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(48, 32, 48, 32)
        layout.addStretch(1)
        layout.addWidget(self.title_label)
        layout.addSpacing(40)
        layout.addLayout(buttons)
        layout.addSpacing(32)
        layout.addWidget(self.notice_label)
        layout.addStretch(2)
        self.retranslate(language)

    def retranslate(self, language: str) -> None:
        self.title_label.setText(translate("home.title", language))
        self.scan_button.setText(translate("home.scan", language))
        self.manual_button.setText(translate("home.manual", language))
        self.notice_label.setText(translate("home.self_service_missing", language))

    def clear_personal_data(self) -> None:
        """Home shows nothing personal; present so that every screen can be cleared the same way."""
