"""Whether the kiosk window opens on a touch screen, and so should fill it.

Unattended units start with ``--fullscreen`` (``deploy/``); a deployer who starts ``kiosk run`` by hand on the
kiosk's own panel should not get a 1280×800 window in a corner of it either. A window on a screen that a
touch screen drives fills it; on a developer's monitor (mouse and keyboard only) it stays a window that can
be moved and closed.

Qt lists the input devices it sees (``QInputDevice.devices()``: XInput2 devices on X11, libinput's on
Wayland and eglfs); a touch screen is a pointing device of type ``TouchScreen``, and where the platform knows
it, ``availableVirtualGeometry()`` is the part of the desktop it is mapped onto, so that a touch panel beside
an ordinary monitor makes only its own screen full. An empty geometry means "not known": the touch screen
may be any screen, so it counts for all.
"""

from __future__ import annotations

from PySide6.QtGui import QInputDevice, QScreen
from PySide6.QtWidgets import QWidget


def touch_screen_for(screen: QScreen) -> bool:
    """True when a touch screen drives ``screen`` (or a touch screen is present and its screen unknown)."""
    for device in QInputDevice.devices():
        if device.type() != QInputDevice.DeviceType.TouchScreen:
            continue
        mapped = device.availableVirtualGeometry()
        if mapped.isEmpty() or mapped.intersects(screen.geometry()):
            return True
    return False


def show_full_screen(window: QWidget) -> None:
    """Shows ``window`` filling its screen, with or without a window manager: on a bare X server (as kiosk
    images often run, no desktop) the full-screen state is a hint nobody acts on, so the window also takes
    the screen's geometry itself."""
    window.setGeometry(window.screen().geometry())
    window.showFullScreen()
