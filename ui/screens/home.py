"""Home: large buttons to the checkpoint scanner and to manual ID entry; in self-service mode, one large
button per loaded service (titles from the definitions, in the current language)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.i18n import translate

SERVICE_COLUMNS = 3


class HomeScreen(QWidget):
    scan_requested = Signal()
    manual_requested = Signal()
    service_requested = Signal(str)

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
        self.service_buttons: dict[str, QPushButton] = {}
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
        service_grid = QGridLayout()
        service_grid.setSpacing(24)
        for i, (service_id, _) in enumerate(self.services):
            button = QPushButton()
            button.setObjectName("serviceButton")
            button.clicked.connect(lambda _=False, s=service_id: self.service_requested.emit(s))
            service_grid.addWidget(button, i // SERVICE_COLUMNS, i % SERVICE_COLUMNS)
            self.service_buttons[service_id] = button
        # A self-service kiosk offers its services; checking codes is for checkpoint staff.
        self.scan_button.setVisible(not self.services)
        self.manual_button.setVisible(not self.services)

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
        layout.addLayout(service_grid)
        layout.addSpacing(32)
        layout.addWidget(self.notice_label)
        layout.addStretch(2)
        self.retranslate(language)

    def retranslate(self, language: str) -> None:
        self.title_label.setText(translate("home.title", language))
        self.scan_button.setText(translate("home.scan", language))
        self.manual_button.setText(translate("home.manual", language))
        self.notice_label.setText(translate("home.self_service_missing", language))
        if self.services:
            self.title_label.setText(translate("home.self_service_title", language))
        for service_id, titles in self.services:
            self.service_buttons[service_id].setText(titles.get(language) or titles["zh-CN"])

    def clear_personal_data(self) -> None:
        """Home shows nothing personal; present so that every screen can be cleared the same way."""
