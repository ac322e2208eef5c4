import os
import stat
from pathlib import Path

import pytest

from kiosk.fileio import write_atomically


def test_replaces_the_file_whole_with_the_requested_mode(tmp_path: Path) -> None:
    target = tmp_path / "secret.key"
    target.write_bytes(b"old")
    write_atomically(target, b"x" * 100_000, mode=0o600)
    assert target.read_bytes() == b"x" * 100_000
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]  # no temporary left behind


def test_a_failed_write_leaves_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "store.json"
    target.write_bytes(b"good")
    with pytest.raises(TypeError):
        write_atomically(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"good"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.json"]
