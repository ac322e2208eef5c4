"""Reference data sets a decision looks people up in (a household-registration extract, an allowance list,
a vehicle register's blocked plates, the published risk areas).

A set is a JSON file (``dataset.schema.json`` beside the decisions): its name, its version, the fields each
row holds, and its rows. A set about people or their vehicles (``"hash": "hmac-sha256"``) keys its rows by a
keyed hash (HMAC-SHA256) of the ID number or plate, so the file holds no identifiers in clear and a leaked
copy cannot be searched without the key. Whoever loads a set holds the key; a rule only ever sees the row
found for the applicant, or nothing.

A public list (``"hash": "none"``, e.g. the risk areas a health commission publishes) keys its rows in
clear, so that a policy officer can read it, and may match by ``contains``: the row found is the longest
listed name that the looked-up text contains ("广州市天河区" is found in "广东省广州市天河区石牌街"), which
is what a free-text answer such as a trip's origin needs. A set in clear may not hold identifiers: a key
with a run of eleven or more digits (an ID number, a phone number) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from kiosk.fileio import FileProblem, read_json
from kiosk.idnumber import normalise
from kiosk.paths import ASSETS_DIR

DATASET_SCHEMA_PATH = ASSETS_DIR / "decisions" / "dataset.schema.json"
# A household extract of a whole city is far larger than the kiosk's 4 MiB cap on settings files.
MAX_DATASET_BYTES = 512 * 1024 * 1024


class DataSet(Protocol):
    """What a decision needs of a loaded set: which version, when it was loaded, and a lookup."""

    @property
    def version(self) -> str: ...

    @property
    def loaded_at(self) -> datetime: ...

    def lookup(self, identifier: str) -> Mapping[str, Any] | None: ...


# An ID number (18), a mobile number (11): no key of a set in clear may carry such a run of digits.
_IDENTIFIER_DIGITS = re.compile(r"\d{11,}")


# Hashed with the key, this says which key a set's rows were hashed with, without giving the key away: rows
# hashed with another key would find nobody, and every applicant would look absent from the register.
_KEY_CHECK_MESSAGE = b"kiosk reference data set key check v1"


def key_check(key: bytes) -> str:
    return hmac.new(key, _KEY_CHECK_MESSAGE, hashlib.sha256).hexdigest()


def keyed_hash(key: bytes, identifier: str) -> str:
    """The row key of ``identifier``: an ID number or a plate, normalised (no spaces, upper case, a plate's
    separator dot dropped), so "粤b·12345" and "粤B12345" are one key. An ID number never holds a dot, so its
    hash is the same as before plates were looked up."""
    return keyed_digest(key, identifier).hex()


def keyed_digest(key: bytes, identifier: str) -> bytes:
    """:func:`keyed_hash` as its 32 bytes (how the server keeps a million rows in memory)."""
    text = normalise(identifier).replace("·", "")
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def clear_key(text: str) -> str:
    """A key of a set in clear, or the text looked up in one: NFKC (full-width letters and digits become
    half-width), no white space, upper case."""
    return "".join(unicodedata.normalize("NFKC", text).split()).upper()


@dataclass(frozen=True)
class ReferenceSet:
    name: str
    version: str
    loaded_at: datetime
    fields: tuple[str, ...]
    rows: Mapping[str, Mapping[str, Any]]  # by keyed hash, or (a set in clear) by clear_key of the name
    key: bytes
    hash: str = "hmac-sha256"
    match: str = "exact"

    def lookup(self, identifier: str) -> Mapping[str, Any] | None:
        if self.hash == "hmac-sha256":
            return self.rows.get(keyed_hash(self.key, identifier))
        text = clear_key(identifier)
        if self.match == "exact" or not text:
            return self.rows.get(text)
        # Public lists are short (hundreds of areas): a scan costs microseconds and needs no index.
        found = max((name for name in self.rows if name in text), key=len, default=None)
        return None if found is None else self.rows[found]


@cache
def _validator() -> Any:
    import jsonschema

    schema = json.loads(DATASET_SCHEMA_PATH.read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def parse_reference_set(raw: Any, key: bytes, loaded_at: datetime, source: str) -> ReferenceSet:
    """Check ``raw`` against the schema and that every row holds exactly the declared fields."""
    import jsonschema

    errors = list(_validator().iter_errors(raw))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        where = "/".join(map(str, err.absolute_path))
        raise FileProblem(source, f"{where}: {err.message}" if where else err.message)
    if "key_check" in raw and raw["key_check"] != key_check(key):
        raise FileProblem(source, "key_check: the rows were hashed with another key than this one")
    fields = tuple(raw["fields"])
    for row_key, row in raw["rows"].items():
        if set(row) != set(fields):
            raise FileProblem(
                source, f"rows/{row_key[:12]}…: holds {sorted(row)}, the set declares {list(fields)}"
            )
    rows: Mapping[str, Mapping[str, Any]] = raw["rows"]
    if raw["hash"] == "none":
        rows = {}
        for name, row in raw["rows"].items():
            if _IDENTIFIER_DIGITS.search(name):
                # Only the position: the key may be a person's number, which must not reach the log.
                raise FileProblem(source, f"rows/#{len(rows) + 1}: a set in clear may not hold identifiers")
            if not clear_key(name) or clear_key(name) in rows:
                raise FileProblem(source, f"rows/{name[:20]}: empty, or the same as another name")
            rows[clear_key(name)] = row
    return ReferenceSet(
        raw["name"], raw["version"], loaded_at, fields, rows, key, raw["hash"], raw.get("match", "exact")
    )


def load_reference_set(path: Path, key: bytes, loaded_at: datetime) -> ReferenceSet:
    return parse_reference_set(read_json(path, max_bytes=MAX_DATASET_BYTES), key, loaded_at, path.name)


def build_reference_set(
    name: str, version: str, fields: tuple[str, ...], people: Mapping[str, Mapping[str, Any]], key: bytes
) -> dict[str, Any]:
    """The file content of a set holding ``people`` (ID number or plate → row), keys as keyed hashes."""
    return {
        "name": name,
        "version": version,
        "hash": "hmac-sha256",
        "key_check": key_check(key),
        "fields": list(fields),
        "rows": {keyed_hash(key, number): dict(row) for number, row in people.items()},
    }
