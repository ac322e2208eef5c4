"""Log export for the administrator: copies of the rotating logs with anything personal scrubbed."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from kiosk.admin.audit import AuditEntry
from kiosk.fileio import sync_folder

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SCRUB: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = (
    # Signed codes (kiosk, EU DCC): a prefix and base45, whose alphabet includes space.
    (re.compile(r"\b(?:KP|HC)\d:[0-9A-Z $%*+\-./:]+"), lambda m: "[code]"),
    # URLs keep their host (which server failed matters); path and query may carry a token.
    (re.compile(r"(https?://[^\s/?#'\"]+)[^\s'\"]*"), lambda m: m.group(1) + "/[…]"),
    # Resident ID numbers, 18 and 15 digits (masked ones, with *, are left alone).
    (re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15})(?![0-9A-Za-z])"), lambda m: "[id]"),
    # Mainland mobile numbers, with or without +86 and separators.
    (re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"), lambda m: "[phone]"),
    # Long opaque tokens (code texts of other schemes, keys); record UUIDs are not personal and stay.
    (
        re.compile(r"[A-Za-z0-9+/=_\-]{32,}"),
        lambda m: m.group(0) if _UUID.fullmatch(m.group(0)) else "[token]",
    ),
)


def scrub(text: str) -> str:
    """``text`` with anything that looks like an ID number, phone number or code text replaced."""
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def export_logs(
    log_dir: Path, folder: Path, now: datetime, audit: Sequence[AuditEntry] = ()
) -> tuple[Path, int]:
    """Scrubbed copies of the rotating logs (and the audit log) in a new folder under ``folder``."""
    out = folder / f"kiosk-logs-{now:%Y%m%d-%H%M%S}"
    out.mkdir(parents=True)
    files = sorted(log_dir.glob("kiosk.log*")) if log_dir.is_dir() else []
    for source in files:
        with (
            source.open(encoding="utf-8", errors="replace") as src,
            (out / source.name).open("w", encoding="utf-8") as dst,
        ):
            for line in src:
                dst.write(scrub(line))
            dst.flush()
            os.fsync(dst.fileno())
    if audit:
        (out / "admin-audit.txt").write_text(
            "".join(scrub(entry.line()) + "\n" for entry in audit), encoding="utf-8"
        )
    sync_folder(out)
    return out, len(files)
