"""Pinyin → Chinese characters for the on-screen keyboard, from pypinyin's dictionaries (no Qt).

``candidates("zhong")`` gives the characters read *zhong* (any tone), then those whose reading starts with
*zhong* (*zhongguo* is not a reading, but ``zh`` offers 中, 这…), the most common first. ü is typed ``v``
(``lv`` → 绿, 吕). Commonness without a frequency list: GB2312 level 1 (the 3,755 everyday characters) before
level 2 (3,008 less common ones) before everything else pypinyin knows (rare name characters such as 䶮 stay
reachable, last); within a level, the characters found in more of pypinyin's phrases first.

The index is built once, on first use (about half a second on a 2-core box);
:func:`warm_up` builds it on a worker thread so that the first key pressed does not wait.
"""

from __future__ import annotations

import threading
import unicodedata
from bisect import bisect_left
from collections import Counter

_lock = threading.Lock()
_index: _Index | None = None


def _is_ideograph(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF  # unified ideographs
        or 0x3400 <= code <= 0x4DBF  # extension A
        or 0x20000 <= code <= 0x3134F  # extensions B–G
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
    )


def toneless(reading: str) -> str:
    """``lǜ`` → ``lv``, ``zhōng`` → ``zhong``: what a pinyin keyboard types."""
    decomposed = unicodedata.normalize("NFD", reading.lower()).replace("u\u0308", "v")
    return "".join(c for c in decomposed if "a" <= c <= "z")


def _tier(ch: str) -> int:
    """0: GB2312 level 1, 1: level 2, 2: neither."""
    try:
        first = ch.encode("gb2312")[0]
    except UnicodeEncodeError:
        return 2
    if 0xB0 <= first <= 0xD7:
        return 0
    if 0xD8 <= first <= 0xF7:
        return 1
    return 2


Key = tuple[int, int, int, int]


class _Index:
    def __init__(self, table: dict[str, list[tuple[Key, str]]]) -> None:
        self.readings = sorted(table)  # for the prefix search
        self.table = table  # reading → (sort key, character), most common first


def _build() -> _Index:
    from pypinyin.phrases_dict import phrases_dict
    from pypinyin.pinyin_dict import pinyin_dict

    # How many phrases have the character *with this reading*: 重 is common, but mostly as zhòng, and
    # 中 (zhōng) must come before it for "zhong"; 累 is lèi far more often than lǜ.
    in_phrases: Counter[tuple[str, str]] = Counter()
    for phrase, readings in phrases_dict.items():
        for ch, reading in zip(phrase, readings, strict=False):
            if reading:
                in_phrases[ch, toneless(reading[0])] += 1
    table: dict[str, dict[str, Key]] = {}
    for code, listed in pinyin_dict.items():
        ch = chr(code)
        if not _is_ideograph(ch):
            continue
        tier = _tier(ch)
        for place, spelled in enumerate(listed.split(",")):
            letters = toneless(spelled)
            if not letters:
                continue
            # The main reading (pypinyin lists it first) before a secondary one, when no phrase decides.
            key = (tier, -in_phrases[ch, letters], min(place, 1), code)
            chars = table.setdefault(letters, {})
            chars[ch] = min(key, chars.get(ch, key))
    return _Index({letters: sorted((k, ch) for ch, k in chars.items()) for letters, chars in table.items()})


def index() -> _Index:
    """Built on first use, once (a second thread asking meanwhile waits for the first)."""
    global _index
    if _index is None:
        with _lock:
            if _index is None:
                _index = _build()
    return _index


def warm_up() -> threading.Thread:
    """Builds the index on a worker thread (at start-up), so that no key press waits for it."""
    thread = threading.Thread(target=index, name="pinyin-index", daemon=True)
    thread.start()
    return thread


def candidates(letters: str) -> list[str]:
    """Characters read exactly ``letters`` (toneless, ü as v), then those whose reading starts with it."""
    letters = letters.lower()
    if not letters or not all("a" <= c <= "z" for c in letters):
        return []
    found = index()
    exact = [ch for _, ch in found.table.get(letters, [])]
    longer: dict[str, Key] = {}
    for reading in found.readings[bisect_left(found.readings, letters) :]:
        if not reading.startswith(letters):
            break
        if reading != letters:
            for key, ch in found.table[reading]:
                longer[ch] = min(key, longer.get(ch, key))
    seen = set(exact)
    # The characters of all longer readings merged by commonness: a common 这 before a rare 蜇.
    return exact + [ch for ch, _ in sorted(longer.items(), key=lambda item: item[1]) if ch not in seen]
