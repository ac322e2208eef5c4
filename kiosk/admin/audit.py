"""The admin audit log, in the store (``admin_audit``, owned here): action names, setting keys, counts and
item ids, never personal data."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from kiosk.store import Store


@dataclass(frozen=True)
class AuditEntry:
    at: str
    action: str
    details: dict[str, Any]

    def line(self) -> str:
        details = " ".join(f"{k}={v}" for k, v in self.details.items())
        return f"{self.at} {self.action}{' ' + details if details else ''}"


class AuditLog:
    """Every admin action, in the store (``admin_audit``). Callers pass no personal data: only setting keys,
    counts, item ids, printer states and the like."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.clock = clock

    def record(self, action: str, **details: Any) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO admin_audit (at, action, details) VALUES (?, ?, ?)",
                (
                    self.clock().isoformat(timespec="seconds"),
                    action,
                    json.dumps(details, ensure_ascii=False, default=str),
                ),
            )

    def entries(self, limit: int = 100) -> list[AuditEntry]:
        """The newest ``limit`` entries, oldest first."""
        rows = self.store.query(
            "SELECT at, action, details FROM admin_audit ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [AuditEntry(r["at"], r["action"], json.loads(r["details"])) for r in reversed(rows)]
