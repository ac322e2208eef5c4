"""Durable file replacement: a crash or power cut leaves the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any


def write_atomically(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Write ``data`` to a temporary file with ``mode``, fsync it, rename it over ``path``, fsync the folder.

    The folder fsync makes the rename itself survive a power cut; ``mode`` is applied at creation so a secret
    is never readable by others, not even for a moment.
    """
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """A rename or a new file in ``folder`` survives a power cut only once the folder itself is synced."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading ---------------------------------------------------------------------------------------------
# Every file the kiosk reads goes through these, so that no file, however it was damaged or made, can take
# the kiosk down with a traceback: too big, a folder, not UTF-8, not JSON/TOML or nested too deep is one
# error, :class:`FileProblem`, naming the file.

MAX_FILE_BYTES = 4 * 1024 * 1024
# Far deeper than any file the kiosk writes or takes (a service definition nests about 8 deep), far below
# where Python's parsers and everything that walks the result would run out of stack.
MAX_JSON_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


class FileProblem(ValueError):
    """A file that cannot be used as it is; the message names it and says why."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"{name}: {why}")
        self.name = name
        self.why = why


def read_capped(path: Path, max_bytes: int = MAX_FILE_BYTES) -> bytes:
    """The bytes of ``path``; a missing file raises FileNotFoundError (callers decide what absent means),
    anything else wrong (a folder, unreadable, larger than ``max_bytes``) :class:`FileProblem`."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if size > max_bytes:
                raise FileProblem(str(path), f"{size} bytes, more than the {max_bytes} allowed")
            # Read one byte past the cap: a file that grew (or a device that never ends) is caught too.
            data = fh.read(max_bytes + 1)
    except FileNotFoundError:
        raise
    except IsADirectoryError:
        raise FileProblem(str(path), "is a folder, not a file") from None
    except OSError as err:
        raise FileProblem(str(path), f"cannot read ({err.strerror or err})") from None
    if len(data) > max_bytes:
        raise FileProblem(str(path), f"more than the {max_bytes} bytes allowed")
    return data


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (strings skipped), without parsing it."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    depth = deepest = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def parse_json(data: bytes | str, name: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON from ``data`` (read from ``name``, which the error names): not UTF-8, not JSON, or nested deeper
    than ``max_depth`` is a :class:`FileProblem`."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError:
        raise FileProblem(name, "not UTF-8 text") from None
    if json_depth(text) > max_depth:
        raise FileProblem(name, f"JSON nested more than {max_depth} deep")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise FileProblem(name, f"not valid JSON ({err})") from None


def _no_constant(token: str) -> Any:
    # NaN and Infinity are not JSON; no file or answer the kiosk takes has them, and the server refuses them.
    raise ValueError(f"{token} is not a JSON number")


def read_json(path: Path, max_bytes: int = MAX_FILE_BYTES, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """JSON from a file, within the size and depth caps; see :func:`read_capped` and :func:`parse_json`."""
    return parse_json(read_capped(path, max_bytes), str(path), max_depth)


def read_toml(path: Path, max_bytes: int = MAX_FILE_BYTES) -> dict[str, Any]:
    """TOML from a file, within the size cap; not UTF-8 or not TOML is a :class:`FileProblem`."""
    data = read_capped(path, max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise FileProblem(str(path), "not UTF-8 text") from None
    if json_depth(text) > MAX_JSON_DEPTH:  # inline arrays and tables nest with the same brackets
        raise FileProblem(str(path), f"nested more than {MAX_JSON_DEPTH} deep")
    try:
        return tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError) as err:
        raise FileProblem(str(path), f"not valid TOML ({err})") from None
