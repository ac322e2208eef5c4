"""The one exception the signed-code layers raise: a rejection that already carries its plain-words reason."""

from __future__ import annotations

from typing import Any

from kiosk.i18n import Message


class Rejected(Exception):
    """A code (or a step of reading one) failed; ``message`` is the reason shown with the red verdict."""

    def __init__(self, key: str, **params: Any) -> None:
        super().__init__(key)
        self.message = Message(key, params)
