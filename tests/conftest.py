"""Shared fixtures. Qt runs offscreen (no display in CI); UI fixtures build a real core in a temporary
data folder with short timeouts, and windows fed by fake cameras."""

from __future__ import annotations

import os

from tools import offscreen

# Before anything imports Qt; a screen larger than any window laid out (tools/offscreen.py says why).
os.environ["QT_QPA_PLATFORM"] = offscreen.platform()

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiosk.config import Settings
from kiosk.core import KioskCore, open_core


def ui_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for UI tests: the real defaults with short holds and no sound.

    Built directly rather than through ``load_settings`` so that tests may use timeouts shorter than a
    kiosk would ever be configured with.
    """
    base = Settings(data_dir=data_dir, verdict_hold_s=0.6, sound=False, language="zh-CN")
    return dataclasses.replace(base, **overrides)


@pytest.fixture
def ui_data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def styled_app(qapp: Any) -> Any:
    from ui.app import apply_look

    apply_look(qapp)
    return qapp


@pytest.fixture
def self_service_window(styled_app: Any, qtbot: Any, ui_data_dir: Path) -> Iterator[Callable[..., Any]]:
    """``self_service_window(printer=None, slots=None, size=None, **settings)`` → a shown, started
    self-service MainWindow (fake camera, printer and speaker; ``tools.service_driver``), shut down at the
    end of the test. ``size`` (width, height) resizes it before it is shown."""
    from tools.service_driver import build_self_service_window

    built: list[Any] = []

    def make(
        printer: Any = None, slots: Any = None, size: tuple[int, int] | None = None, **overrides: Any
    ) -> Any:
        settings = Settings(data_dir=ui_data_dir, mode="self-service", sound=False, **overrides)
        window = build_self_service_window(settings, printer, slots)
        qtbot.addWidget(window)
        if size is not None:
            window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        window.start()
        built.append(window)
        return window

    yield make
    for window in built:
        window.shutdown()
        window.core.close()


@pytest.fixture
def make_window(styled_app: Any, qtbot: Any, ui_data_dir: Path) -> Iterator[Callable[..., Any]]:
    """``make_window(frames | camera_factory, **settings)`` → a shown, started MainWindow.

    ``frames`` feed a ``devices.camera.fake.FakeCamera`` at 30 fps; the window gets a ``FakeSpeaker``
    (``window.speaker``) and starts on ``screen`` ("checkpoint", "home" or "manual"), chosen before the camera
    starts so that no frame goes by unscanned. ``ocr_loader_factory`` gives the ID-card OCR models (none by
    default: ID cards are typed in). Every window and core is shut down at the end of the test.
    """
    from fakes import FakeVoice

    from devices.camera.fake import FakeCamera
    from devices.qr import get_decoder
    from devices.speaker import FakeSpeaker
    from ui.app import build_main_window

    built: list[tuple[Any, KioskCore]] = []

    def make(
        frames: Sequence[np.ndarray] = (),
        *,
        camera_factory: Callable[[], Any] | None = None,
        data_dir: Path | None = None,
        screen: str = "checkpoint",
        ocr_loader_factory: Callable[[], Any] | None = None,
        **overrides: Any,
    ) -> Any:
        core = open_core(ui_settings(data_dir or ui_data_dir, **overrides))
        factory = camera_factory or (lambda: FakeCamera(list(frames), fps=30.0))
        window = build_main_window(
            core,
            factory,
            lambda: get_decoder("auto"),
            FakeSpeaker(),
            camera_backoff_s=(0.05, 0.2),
            ocr_loader_factory=ocr_loader_factory,
            voice=FakeVoice(),
        )
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        {"checkpoint": window.show_checkpoint, "home": window.show_home, "manual": window.show_manual_entry}[
            screen
        ]()
        window.start()
        built.append((window, core))
        return window

    yield make
    for window, core in built:
        window.shutdown()
        core.close()


@pytest.fixture
def verdicts(qtbot: Any) -> Callable[[Any], list[dict[str, Any]]]:
    """``verdicts(window)`` → a list that fills with a snapshot of the screen at each verdict shown."""

    def watch(window: Any) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []

        def snapshot(timing: Any, shown_at: float) -> None:
            screen = window.stack.currentWidget()
            panel = (
                window.manual_screen.verdict_panel
                if screen is window.manual_screen
                else (window.checkpoint_screen.verdict_panel)
            )
            seen.append(
                {
                    "verdict": panel.current_verdict,
                    "texts": panel.texts(),
                    "inspection": panel.inspection,
                    "timing": timing,
                    "shown_at": shown_at,
                }
            )

        window.verdict_shown.connect(snapshot)
        return seen

    return watch


@pytest.fixture(params=("sqlite", "postgresql"))
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    """A central server on 127.0.0.1 on each database backend, its device rate limit raised above what a test
    sends. Shared by the API and fault tests; modules that need another set-up define their own ``server``."""
    from central_helpers import backend_database, running_server

    with (
        backend_database(request.param, tmp_path) as database_url,
        running_server(tmp_path, database_url, device_rate=(1000.0, 1000.0)) as live,
    ):
        yield live
