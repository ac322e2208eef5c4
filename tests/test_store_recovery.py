"""A damaged, emptied or vanished store: the kiosk starts with what could be recovered, keeps the damaged
file, and says what happened (log, health, heartbeat), instead of a traceback on every start."""

import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.admin.health import Problem, core_health
from kiosk.config import load_settings
from kiosk.outbox import Outbox
from kiosk.store import Store
from main import main

ITEMS = 300


def _filled(path: Path, items: int = ITEMS) -> None:
    store = Store(path)
    outbox = Outbox(store)
    for n in range(items):
        item_id = f"00000000-0000-4000-8000-{n:012d}"
        outbox.enqueue(kind="inspection", item_id=item_id, payload={"id": item_id, "reason": "x" * 200})
    store.close()
    assert not path.with_name(
        path.name + "-wal"
    ).exists()  # all of it in the main file, as after a clean stop


def _overwrite(offset: int, length: int) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        with path.open("r+b") as fh:
            fh.seek(offset)
            fh.write(os.urandom(length))

    return damage


def _truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 2)


def _text(path: Path) -> None:
    path.write_text("this is not a database\n" * 50)


DAMAGE = {
    # (damage, fewest items that must come back)
    "header overwritten": (_overwrite(0, 100), ITEMS),
    "magic overwritten": (_overwrite(0, 16), ITEMS),
    "bad page": (_overwrite(4096 * 12, 4096), ITEMS - 40),
    # The rows on pages past the cut are gone; those before it (interleaved with index pages) come back.
    "truncated": (_truncate, 50),
    "text file": (_text, 0),
}


@pytest.mark.parametrize("with_cli", [True, False], ids=["cli-if-present", "python-only"])
@pytest.mark.parametrize("name", list(DAMAGE))
def test_a_damaged_store_is_kept_aside_and_what_it_held_recovered(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    with_cli: bool,
) -> None:
    if not with_cli:
        monkeypatch.setenv("PATH", "")
    damage, fewest = DAMAGE[name]
    db = tmp_path / "kiosk.sqlite3"
    _filled(db)
    damage(db)
    damaged_bytes = db.read_bytes()
    with pytest.raises(sqlite3.DatabaseError):  # what every command died of before
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
            conn.execute("SELECT COUNT(*) FROM outbox").fetchall()
        finally:
            conn.close()

    assert main(["outbox", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    pending = int(out.out.split(",")[0].removeprefix("pending "))
    assert fewest <= pending <= ITEMS

    kept = sorted(tmp_path.glob("kiosk.sqlite3.damaged-*"))
    assert [p.read_bytes() for p in kept if not p.name.endswith(("-wal", "-shm"))] == [damaged_bytes]
    log = (tmp_path / "logs" / "kiosk.log").read_text("utf-8")
    assert f"items recovered: {pending}" in log

    store = Store(db)  # a second start finds a sound store: nothing more is moved aside
    try:
        assert store.incident is None
        [summary] = store.recent_incidents()
        assert summary.startswith("store damaged (") and kept[0].name in summary
        health = core_health(load_settings(tmp_path), store)
        assert Problem.STORE in str(health["problems"]).split(",")
        assert health["store"] == summary
    finally:
        store.close()
    assert len(list(tmp_path.glob("kiosk.sqlite3.damaged-*"))) == len(kept)


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_a_store_that_vanished_while_holding_items_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    db = tmp_path / "kiosk.sqlite3"
    _filled(db, 25)
    if how == "emptied":
        db.write_bytes(b"")
    else:
        db.unlink()

    assert main(["outbox", "--data-dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.startswith("pending 0, quarantined 0")
    store = Store(db)
    try:
        [summary] = store.recent_incidents()
        assert "held 25 item(s)" in summary
        assert ("file empty" if how == "emptied" else "file missing") in summary
        assert Problem.STORE in str(core_health(load_settings(tmp_path), store)["problems"])
    finally:
        store.close()
    # The empty file is kept too, as every store the kiosk replaces.
    assert len(list(tmp_path.glob("kiosk.sqlite3.damaged-*"))) == (how == "emptied")


def test_a_new_kiosk_and_a_sound_store_report_nothing(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.sqlite3"
    store = Store(db)
    assert store.incident is None
    store.close()
    _filled(db, 3)
    store = Store(db)
    try:
        assert store.incident is None and store.recent_incidents() == []
        assert Outbox(store).counts().pending == 3
    finally:
        store.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "kiosk.sqlite3",
        "kiosk.sqlite3.items",
        "kiosk.sqlite3.lock",
    ]
