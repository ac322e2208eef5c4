"""A small message catalogue (zh-CN default, English) shared by the GUI and the command line.

Catalogues are JSON files in ``assets/i18n``; every user-visible string has a key in both (a test checks).
Kept free of Qt so verdict reasons can be worded the same way on screen and in ``kiosk scan``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from kiosk.paths import ASSETS_DIR

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """A translatable message: a catalogue key plus the values to put into it."""

    key: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return translate(self.key, DEFAULT_LANGUAGE, **self.params)


@cache
def catalogue(language: str) -> dict[str, str]:
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}; choose one of {', '.join(LANGUAGES)}")
    with (ASSETS_DIR / "i18n" / f"{language}.json").open(encoding="utf-8") as fh:
        return json.load(fh)


def translate(key: str, language: str = DEFAULT_LANGUAGE, /, **params: Any) -> str:
    """The text for ``key``; a missing key shows the key itself (and is logged) rather than crashing."""
    text = catalogue(language).get(key)
    if text is None:
        log.warning("missing %s translation for %r", language, key)
        return key
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        log.warning("bad parameters for %s message %r", language, key)
        return text


def render(message: Message, language: str = DEFAULT_LANGUAGE) -> str:
    return translate(message.key, language, **message.params)
