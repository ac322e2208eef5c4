"""An ID card tapped on the reader at a checkpoint: inspected like a code, judged by the health-status
list."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from kiosk.bundle import BundleStore
from kiosk.checkpoint import Checkpoint
from kiosk.codes.plain import default_registry
from kiosk.config import Settings, fixed
from kiosk.health_list import load_health_list, parse_health_list
from kiosk.idcard.chip import decode_text
from kiosk.masking import mask_id_number
from kiosk.store import Store
from protocol.sealing import b64e, canonical_json, sign, signing_public_key
from tools.id_reader_sim import LONG_TERM_CARD, RARE_NAME_CARD, ReaderSimulator, text_block

NOW = datetime.fromisoformat("2026-12-07T09:00:00+08:00")
MAX_AGE = timedelta(days=7)
CARD = decode_text(text_block(RARE_NAME_CARD), date(2026, 12, 7))
OTHER = decode_text(text_block(LONG_TERM_CARD), date(2026, 12, 7))


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def checkpoint(tmp_path: Path) -> Any:
    store = Store(tmp_path / "db")
    settings = Settings(data_dir=tmp_path, checkpoint_id="CP-1", duplicate_window_s=600)
    yield Checkpoint(store, default_registry(), b"k" * 32, fixed(settings), Clock())
    store.close()


def _listed(cp: Checkpoint, colour: str, issued: datetime = NOW - timedelta(days=1)) -> Any:
    entries = {cp.subject_hash("id:" + RARE_NAME_CARD["id_number"]): colour}
    return parse_health_list({"issued_at": issued.isoformat(), "entries": entries})


def test_verdict_follows_the_list(checkpoint: Checkpoint) -> None:
    unlisted = parse_health_list({"issued_at": (NOW - timedelta(days=1)).isoformat(), "entries": {}})
    assert checkpoint.inspect_card(CARD, unlisted, MAX_AGE).result.verdict == "green"
    checkpoint.clock.now += timedelta(minutes=11)  # type: ignore[attr-defined]
    red = checkpoint.inspect_card(CARD, _listed(checkpoint, "red"), MAX_AGE)
    assert (red.result.verdict, red.result.reason.key) == ("red", "chip.listed_red")
    assert checkpoint.inspect_card(OTHER, _listed(checkpoint, "red"), MAX_AGE).result.verdict == "green"
    stale = _listed(checkpoint, "red", NOW - timedelta(days=8))
    assert checkpoint.inspect_card(OTHER, stale, MAX_AGE).result.reason.key == "chip.list_stale"
    assert checkpoint.inspect_card(OTHER, None, MAX_AGE).result.verdict == "yellow"


def test_recorded_by_hash_counted_and_deduplicated(checkpoint: Checkpoint) -> None:
    first = checkpoint.inspect_card(CARD, None, MAX_AGE)
    again = checkpoint.inspect_card(CARD, None, MAX_AGE)
    assert not first.duplicate and again.duplicate
    assert first.result.holder == "厍*" and first.result.claims["id_number"].count("*") > 8
    rows = checkpoint.store.query("SELECT * FROM inspections")
    assert len(rows) == 1 and rows[0]["source"] == "chip" and rows[0]["kind"] == "id-card"
    stored = json.dumps([dict(r) for r in rows]) + json.dumps(
        [dict(r) for r in checkpoint.store.query("SELECT payload FROM outbox")]
    )
    assert RARE_NAME_CARD["id_number"] not in stored and "厍䶮" not in stored
    # The same person typing the number is one person (人数), two inspections (人次).
    checkpoint.clock.now += timedelta(seconds=5)  # type: ignore[attr-defined]
    typed = checkpoint.inspect(RARE_NAME_CARD["id_number"], source="manual")
    assert (typed.counters.inspections, typed.counters.persons) == (2, 1)


def test_health_list_file(tmp_path: Path) -> None:
    assert load_health_list(tmp_path) is None
    (tmp_path / "health_status.json").write_text('{"issued_at": "yesterday", "entries": {}}')
    assert load_health_list(tmp_path) is None  # unusable: no card is green on it
    for bad in ({"entries": {}}, {"issued_at": NOW.isoformat(), "entries": {"ab": "red"}}, []):
        with pytest.raises(ValueError):
            parse_health_list(bad)


def test_a_card_tapped_at_the_checkpoint_shows_its_verdict(
    make_window: Any, qtbot: Any, verdicts: Any, ui_data_dir: Path
) -> None:
    sim = ReaderSimulator()
    try:
        window = make_window(id_reader=f"serial:{sim.device}")
        seen = verdicts(window)
        bundle = ui_data_dir / "bundle"
        bundle.mkdir(exist_ok=True)
        entries = {window.core.checkpoint.subject_hash("id:" + RARE_NAME_CARD["id_number"]): "red"}
        issued = datetime.now().astimezone().isoformat()
        (bundle / "health_status.json").write_text(json.dumps({"issued_at": issued, "entries": entries}))
        sim.card = text_block(RARE_NAME_CARD)
        qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    finally:
        sim.close()
    shown = seen[0]
    assert shown["verdict"] == "red"
    texts = " ".join(shown["texts"].values())
    assert mask_id_number(RARE_NAME_CARD["id_number"]) in texts
    assert "厍*" in texts and "厍䶮" not in texts and RARE_NAME_CARD["id_number"] not in texts
    assert window.counters_bar.isVisible()
    assert shown["inspection"].counters.inspections == 1


def _signed_bundle(seed: bytes, extra: dict[str, Any]) -> bytes:
    body = {
        "version": "v1",
        "issued_at": "2026-12-07T00:00:00+00:00",
        "site": {"name": "s"},
        "services": [],
        "trust_store": {},
        "revocations": [],
        "seal_key": b64e(b"k" * 32),
    } | extra
    return json.dumps(body | {"signature": b64e(sign(seed, canonical_json(body)))}).encode()


def test_the_bundle_carries_the_list_and_a_bundle_without_it_withdraws_it(tmp_path: Path) -> None:
    seed = b"s" * 32
    store = BundleStore(tmp_path, signing_public_key(seed))
    part = {"issued_at": NOW.isoformat(), "entries": {"a" * 64: "yellow"}}
    store.accept(_signed_bundle(seed, {"health_status": part}))
    listed = load_health_list(tmp_path)
    assert listed is not None and listed.entries == {"a" * 64: "yellow"}
    store.accept(_signed_bundle(seed, {}))
    assert load_health_list(tmp_path) is None


def test_a_list_published_on_the_server_reaches_the_checkpoint_in_one_sync_pass(tmp_path: Path) -> None:
    """The issuer lists ID numbers; the server hashes them under the person key it hands out, the bundle
    carries the list, and the kiosk that synced judges the listed holder red and an unlisted one green."""
    from central_helpers import running_server

    from central.cli import main as central_main
    from kiosk.core import open_core
    from kiosk.sync import open_sync

    core = open_core(Settings(data_dir=tmp_path / "kiosk", checkpoint_id="CP-001"))
    try:
        with running_server(tmp_path) as live:
            live.enrol(core.settings.data_dir)
            listed = tmp_path / "list.csv"
            listed.write_text(f"id_number,colour\n{RARE_NAME_CARD['id_number']},red\n", "utf-8")
            db = ["--database", live.database_url, "--key-dir", str(live.key_dir)]
            assert central_main(["health-status-set", str(listed), *db]) == 0
            engine = open_sync(core)
            assert engine is not None
            status, result = engine.run_once()
            assert status.online and result.bundle_updated and status.error is None
        health = load_health_list(core.settings.data_dir / "bundle")
        assert health is not None and len(health.entries) == 1
        red = core.checkpoint.inspect_card(CARD, health, MAX_AGE)
        assert (red.result.verdict, red.result.reason.key) == ("red", "chip.listed_red")
        assert core.checkpoint.inspect_card(OTHER, health, MAX_AGE).result.verdict == "green"
    finally:
        core.close()


def test_the_server_refuses_a_list_row_it_cannot_use(tmp_path: Path) -> None:
    from central_helpers import running_server

    from central.cli import main as central_main

    with running_server(tmp_path) as live:
        bad = tmp_path / "list.csv"
        bad.write_text(f"{RARE_NAME_CARD['id_number']},blue\n", "utf-8")
        db = ["--database", live.database_url, "--key-dir", str(live.key_dir)]
        assert central_main(["health-status-set", str(bad), *db]) == 2
