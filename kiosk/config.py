"""Settings: built-in defaults, then ``kiosk.toml`` in the data folder, then KIOSK_* environment variables,
then command-line flags. Every value is validated; a bad one is refused with the key and the reason."""

from __future__ import annotations

import dataclasses
import datetime
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.fileio import FileProblem, read_toml
from kiosk.i18n import LANGUAGES
from kiosk.id_reader_spec import parse_spec

SETTINGS_FILE = "kiosk.toml"
# A settings file is a few hundred bytes; anything near this is not one.
MAX_SETTINGS_BYTES = 256 * 1024
MODES = ("checkpoint", "self-service")


class SettingsError(ValueError):
    """A refused setting; ``key`` names it when one setting is to blame (admin mode marks that field)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    site_name: str = "政务自助终端"
    checkpoint_id: str = "CP-001"
    mode: str = "checkpoint"
    camera: str = "demo"
    decoder: str = "auto"
    fullscreen: bool = False
    language: str = "zh-CN"
    idle_timeout_s: int = 60
    idle_countdown_s: int = 10
    duplicate_window_s: int = 600
    # How long a verdict stays on screen before the scanner looks for the next code.
    verdict_hold_s: float = 3.0
    sound: bool = True
    # Spoken guidance (prompts and verdicts, pre-rendered in assets/voice); the admin's mute switch.
    voice: bool = True
    # The central API. With it set and the kiosk enrolled (`kiosk enrol`), the GUI syncs in the background;
    # it also overrides the address the kiosk enrolled with.
    central_url: str | None = None
    # Seconds between sync passes while the link is up (failures back off on their own schedule).
    sync_interval_s: int = 30
    # Items per upload request; the API takes at most 500.
    sync_batch_size: int = 200
    # Signed codes: a trust store older than this makes the codes it vouches for yellow (check by hand).
    trust_max_age_days: int = 7
    # Signed codes closer than this to their end are yellow, so staff look at the time themselves.
    expiry_warning_min: int = 60
    # Receipts: "pdf" (a folder, the default with no printer), "cups[:QUEUE]", "escpos-usb:VID:PID",
    # "escpos-serial:DEVICE[:BAUD]", "escpos-net:HOST[:PORT]" (see devices/printer.py).
    printer: str = "pdf"
    receipt_paper: str = "80mm"  # 58mm | 80mm | A5 | A4
    # ESC/POS: "raster" prints the rendered receipt as an image; "text" sends printer text and a native QR.
    escpos_mode: str = "raster"
    # The resident ID card reader (SAM protocol, devices/id_reader.py): "none", "serial:DEVICE[:BAUD]",
    # or "auto" (the usual device names probed at start and after the reader is plugged back in).
    id_reader: str = "none"
    # The vendor's WLT photo decoder (a shared library); without it the chip's photo is not shown.
    id_photo_library: str = ""

    @property
    def store_path(self) -> Path:
        return self.data_dir / "kiosk.sqlite3"

    @property
    def secrets_dir(self) -> Path:
        return self.data_dir / "secrets"


_FIELDS = {f.name: f for f in dataclasses.fields(Settings) if f.name != "data_dir"}


# How long-lived collaborators hold the settings: asked at each use, so a change made in admin mode
# (``KioskCore.apply``) reaches them without anyone rewriting their fields.
SettingsSource = Callable[[], Settings]


def fixed(settings: Settings) -> SettingsSource:
    """A source that always gives ``settings`` (one command-line run, a test)."""
    return lambda: settings


def _coerce(key: str, value: Any) -> Any:
    default = _FIELDS[key].default
    try:
        if isinstance(value, (dict, list, datetime.date, datetime.time)):
            # A table, an array or a date where a plain value belongs: str() would accept it as text.
            raise TypeError(value)
        if isinstance(default, bool):
            if isinstance(value, str):
                if value.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                    raise ValueError(value)
                return value.lower() in ("1", "true", "yes", "on")
            if not isinstance(value, (bool, int)):
                raise TypeError(value)
            return bool(value)
        if isinstance(default, int):
            if isinstance(value, float) and not value.is_integer():
                raise ValueError(value)  # also Infinity and NaN (1e400 in TOML is Infinity)
            return int(value)
        if isinstance(default, float):
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
        return None if value in (None, "") and default is None else str(value)
    except (TypeError, ValueError, OverflowError):
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        kind = type(default).__name__
        raise SettingsError(f"setting {key!r}: {shown} is not a valid {kind}", key) from None


def _validate(s: Settings) -> Settings:
    checks = [
        (s.mode in MODES, "mode", f"must be one of {', '.join(MODES)}"),
        (s.language in LANGUAGES, "language", f"must be one of {', '.join(LANGUAGES)}"),
        (10 <= s.idle_timeout_s <= 3600, "idle_timeout_s", "must be between 10 and 3600 seconds"),
        (1 <= s.idle_countdown_s <= 60, "idle_countdown_s", "must be between 1 and 60 seconds"),
        (0 <= s.duplicate_window_s <= 86400, "duplicate_window_s", "must be between 0 and 86400 seconds"),
        (0.5 <= s.verdict_hold_s <= 60, "verdict_hold_s", "must be between 0.5 and 60 seconds"),
        (1 <= s.trust_max_age_days <= 365, "trust_max_age_days", "must be between 1 and 365 days"),
        (0 <= s.expiry_warning_min <= 1440, "expiry_warning_min", "must be between 0 and 1440 minutes"),
        (5 <= s.sync_interval_s <= 86400, "sync_interval_s", "must be between 5 and 86400 seconds"),
        (1 <= s.sync_batch_size <= 500, "sync_batch_size", "must be between 1 and 500"),
        (
            s.central_url is None or s.central_url.startswith(("https://", "http://")),
            "central_url",
            "must be an http:// or https:// URL",
        ),
        (bool(s.site_name.strip()), "site_name", "must not be empty"),
        (bool(s.checkpoint_id.strip()), "checkpoint_id", "must not be empty"),
        (bool(s.camera.strip()), "camera", "must not be empty"),
        (bool(s.printer.strip()), "printer", "must not be empty"),
        (s.receipt_paper in ("58mm", "80mm", "A5", "A4"), "receipt_paper", "must be 58mm, 80mm, A5 or A4"),
        (s.escpos_mode in ("raster", "text"), "escpos_mode", "must be raster or text"),
    ]
    try:
        parse_spec(s.id_reader)
    except ValueError as exc:
        checks.append((False, "id_reader", str(exc)))
    for ok, key, why in checks:
        if not ok:
            raise SettingsError(f"setting {key!r} {why} (got {getattr(s, key)!r})", key)
    return s


def load_settings(data_dir: Path, overrides: dict[str, Any] | None = None) -> Settings:
    values: dict[str, Any] = {}
    path = data_dir / SETTINGS_FILE
    try:
        from_file = read_toml(path, MAX_SETTINGS_BYTES)
    except FileNotFoundError:
        from_file = {}
    except FileProblem as err:
        raise SettingsError(f"{SETTINGS_FILE}: {err.why}") from None
    if from_file:
        unknown = sorted(set(from_file) - set(_FIELDS))
        if unknown:
            raise SettingsError(f"{path.name}: unknown setting(s) {', '.join(unknown)}")
        values.update(from_file)
    for key in _FIELDS:
        env = os.environ.get(f"KIOSK_{key.upper()}")
        if env is not None:
            values[key] = env
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    return settings_from_values(data_dir, values)


def settings_from_values(data_dir: Path, values: dict[str, Any]) -> Settings:
    """Settings from raw values (as read from a file, the environment or a screen), coerced and validated
    exactly as at start-up; unknown keys are refused."""
    unknown = sorted(set(values) - set(_FIELDS))
    if unknown:
        raise SettingsError(f"unknown setting(s) {', '.join(unknown)}", unknown[0])
    coerced = {key: _coerce(key, value) for key, value in values.items()}
    return _validate(Settings(data_dir=data_dir, **coerced))
