"""Settings written from admin mode: which keys the page edits, which apply at once, and the atomic rewrite
of ``kiosk.toml`` that keeps the operator's comments."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from kiosk.config import SETTINGS_FILE, Settings, SettingsError, settings_from_values
from kiosk.fileio import write_atomically

# What the settings page edits, in its order.
EDITABLE = (
    "site_name",
    "checkpoint_id",
    "mode",
    "language",
    "idle_timeout_s",
    "duplicate_window_s",
    "trust_max_age_days",
    "sound",
    "camera",
    "printer",
    "central_url",
)
# Applied to the running kiosk at once; the others are read once at start-up (the camera thread, the
# printer, the sync loop, which screens exist) and take effect after a restart.
LIVE = frozenset(
    {
        "site_name",
        "checkpoint_id",
        "language",
        "idle_timeout_s",
        "duplicate_window_s",
        "trust_max_age_days",
        "sound",
    }
)


@dataclass(frozen=True)
class SavedSettings:
    settings: Settings  # the running settings with the saved values in
    changed: tuple[str, ...]
    needs_restart: tuple[str, ...]


def save_settings(current: Settings, changes: Mapping[str, Any]) -> SavedSettings:
    """Validate ``changes`` merged into ``kiosk.toml`` exactly as start-up would, then write the file
    atomically (its comments and layout kept). Raises :class:`SettingsError` naming the bad key, before
    anything is written."""
    import tomlkit

    path = current.data_dir / SETTINGS_FILE
    try:
        document = tomlkit.parse(path.read_text("utf-8")) if path.exists() else tomlkit.document()
    except tomlkit.exceptions.ParseError as err:
        raise SettingsError(f"{path.name}: {err}") from None
    values = {**document.unwrap(), **changes}
    # An empty optional value (no central server) is the absence of the key, as in a hand-written file.
    if values.get("central_url") in ("", None):
        values.pop("central_url", None)
    from_file = settings_from_values(current.data_dir, values)
    changed = tuple(key for key in changes if getattr(from_file, key) != getattr(current, key))
    for key in changes:
        value = getattr(from_file, key)
        if value is None:
            document.pop(key, None)
        else:
            document[key] = value
    write_atomically(path, tomlkit.dumps(document).encode("utf-8"))
    running = replace(current, **{key: getattr(from_file, key) for key in changed})
    return SavedSettings(running, changed, tuple(key for key in changed if key not in LIVE))
