"""What admin mode may use of the window it lives in, and nothing more: the core, the language, the health
monitor, the sync loop's wake-up, the receipt printer, the screen stack and two ways to change screen."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from PySide6.QtWidgets import QLabel, QStackedWidget, QWidget

from kiosk.core import KioskCore

if TYPE_CHECKING:
    from devices.printer import Printer
    from ui.admin.health import HealthMonitor
    from ui.background_sync import BackgroundSync


class AdminHost(Protocol):
    # Read-only, so that the window may hold narrower types (its stack is a ScreenStack).
    @property
    def core(self) -> KioskCore: ...

    @property
    def language(self) -> str: ...

    @property
    def health(self) -> HealthMonitor: ...

    @property
    def sync(self) -> BackgroundSync: ...

    @property
    def stack(self) -> QStackedWidget: ...

    @property
    def gesture_target(self) -> QLabel:
        """Where the five taps that open admin mode land (the site name in the top bar)."""
        ...

    @property
    def receipt_printer(self) -> Printer | None:
        """The self-service receipt printer (None on a checkpoint kiosk)."""
        ...

    def show_home(self) -> None: ...

    def show_screen(self, screen: QWidget) -> None: ...

    def settings_applied(self) -> None:
        """Show what ``KioskCore.apply`` has just put in force."""
        ...
