"""Reference data sets a decision looks people up in (a household-registration extract, an allowance list).

A set is a JSON file (``dataset.schema.json`` beside the decisions): its name, its version, the fields each
row holds, and rows keyed by a keyed hash (HMAC-SHA256) of the person's ID number, so the file holds no
identifiers in clear and a leaked copy cannot be searched without the key. Whoever loads a set holds the
key; a rule only ever sees the row found for the applicant, or nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
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


def keyed_hash(key: bytes, identifier: str) -> str:
    """The row key of ``identifier`` (an ID number, normalised: no spaces, upper-case X)."""
    return hmac.new(key, normalise(identifier).encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class ReferenceSet:
    name: str
    version: str
    loaded_at: datetime
    fields: tuple[str, ...]
    rows: Mapping[str, Mapping[str, Any]]
    key: bytes

    def lookup(self, identifier: str) -> Mapping[str, Any] | None:
        return self.rows.get(keyed_hash(self.key, identifier))


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
    fields = tuple(raw["fields"])
    for row_key, row in raw["rows"].items():
        if set(row) != set(fields):
            raise FileProblem(
                source, f"rows/{row_key[:12]}…: holds {sorted(row)}, the set declares {list(fields)}"
            )
    return ReferenceSet(raw["name"], raw["version"], loaded_at, fields, raw["rows"], key)


def load_reference_set(path: Path, key: bytes, loaded_at: datetime) -> ReferenceSet:
    return parse_reference_set(read_json(path, max_bytes=MAX_DATASET_BYTES), key, loaded_at, path.name)


def build_reference_set(
    name: str, version: str, fields: tuple[str, ...], people: Mapping[str, Mapping[str, Any]], key: bytes
) -> dict[str, Any]:
    """The file content of a set holding ``people`` (ID number → row), identifiers as keyed hashes."""
    return {
        "name": name,
        "version": version,
        "hash": "hmac-sha256",
        "fields": list(fields),
        "rows": {keyed_hash(key, number): dict(row) for number, row in people.items()},
    }
