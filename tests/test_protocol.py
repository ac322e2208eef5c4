"""The wire protocol between kiosk and central server: what goes out is the protocol's item (not whatever
the stored row holds), an answer the kiosk does not understand is no answer, booking takes its arguments
the same way on both sides, the server shares nothing with the kiosk but the protocol package, and no two
modules import each other."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeCentral

from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.sync import SyncEngine

ROOT = Path(__file__).resolve().parent.parent
schemas = pytest.importorskip("central.schemas", reason="the central extra is not installed")


def test_an_inspection_goes_out_as_the_protocol_item_whatever_its_stored_row_holds(tmp_path: Path) -> None:
    core = open_core(Settings(data_dir=tmp_path))
    try:
        core.checkpoint.inspect("11010519491231002X", source="manual")
        # A column the store gained after the item was queued (here: when it was uploaded) is not part of
        # the protocol; the server refuses unknown fields, so it must not travel.
        with core.store.transaction() as conn:
            row = conn.execute("SELECT seq, payload FROM outbox").fetchone()
            payload = json.loads(row["payload"]) | {"uploaded_at": None}
            conn.execute("UPDATE outbox SET payload = ? WHERE seq = ?", (json.dumps(payload), row["seq"]))
        (item,) = core.outbox.pending()
        wire = item.wire()
    finally:
        core.close()
    schemas.InspectionIn.model_validate(wire)  # the server's own schema takes it as it is
    assert "uploaded_at" not in wire


def test_an_answer_with_a_status_the_kiosk_does_not_know_is_no_answer(tmp_path: Path) -> None:
    class Odd(FakeCentral):
        def upload(self, kind: str, items: Any) -> Any:
            return {item["id"]: ("queued", None) for item in items}

    core = open_core(Settings(data_dir=tmp_path))
    try:
        core.checkpoint.inspect("11010519491231002X", source="manual")
        status, result = SyncEngine(core.outbox, Odd()).run_once()
        assert not status.online and status.error  # reported, not raised
        assert (result.accepted, result.duplicate, result.rejected) == (0, 0, 0)
        assert core.outbox.counts().pending == 1  # still queued for the next pass
    finally:
        core.close()


def test_booking_takes_the_same_arguments_on_both_sides() -> None:
    from kiosk.central_client import CentralApi, HttpCentral
    from kiosk.forms.slots import CentralSlots, FakeSlots, OfflineSlots, SlotSource

    def shape(method: Any) -> list[tuple[str, Any]]:
        params = list(inspect.signature(method).parameters.values())[1:]  # without self
        return [(p.name, p.kind) for p in params]

    reference = shape(SlotSource.book)
    assert all(kind is inspect.Parameter.KEYWORD_ONLY for _, kind in reference)
    for method in (CentralApi.book, HttpCentral.book, CentralSlots.book, FakeSlots.book, OfflineSlots.book):
        assert shape(method) == reference, method.__qualname__


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


# The kiosk's pure core the server runs too (docs/architecture.md, "Layers"): the decision engine and data
# sets (智慧批 decides on the server) and the signed codes (the server signs decision codes), with exactly
# what those import, each package's __init__ included; and the service definitions with their masking rules
# (the dashboard shows a decision's answers masked as the kiosk masks them). No store, settings, sync,
# submissions, Qt or device code.
CENTRAL_MAY_USE = {
    "kiosk",
    "kiosk.codes",
    "kiosk.codes.claims",
    "kiosk.codes.cose",
    "kiosk.codes.envelope",
    "kiosk.codes.errors",
    "kiosk.codes.keys",
    "kiosk.codes.plain",
    "kiosk.codes.policy",
    "kiosk.codes.registry",
    "kiosk.codes.signed",
    "kiosk.codes.truststore",
    "kiosk.decisions",
    "kiosk.decisions.datasets",
    "kiosk.decisions.rules",
    "kiosk.fileio",
    "kiosk.forms",
    "kiosk.forms.answers",
    "kiosk.forms.definition",
    "kiosk.i18n",
    "kiosk.idnumber",
    "kiosk.keystore",
    "kiosk.masking",
    "kiosk.paths",
}


KIOSK_SIDE = ("kiosk", "ui", "devices", "printing")


def _kiosk_side_reached_from_central() -> set[str]:
    """Every kiosk-side module that importing any server module can run: what central imports, what those
    import in turn, and the ``__init__`` of every package on the way (importing a submodule runs it)."""
    from tools.import_cycles import import_graph

    graph = import_graph()
    todo = [m for m in graph if m.split(".")[0] == "central"]
    seen = set(todo)
    while todo:
        module = todo.pop()
        parts = module.split(".")
        for target in graph.get(module, set()) | {".".join(parts[:n]) for n in range(1, len(parts))}:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return {m for m in seen if m.split(".")[0] in KIOSK_SIDE}


def test_the_server_shares_with_the_kiosk_only_the_protocol_and_the_named_pure_core() -> None:
    reached = _kiosk_side_reached_from_central()
    assert not reached - CENTRAL_MAY_USE, "central reaches kiosk code outside the shared core"
    # The list is exact: a module central stopped needing is taken off it, so it cannot hide a later leak.
    assert reached == CENTRAL_MAY_USE


def test_the_shared_core_holds_no_store_qt_or_device_code() -> None:
    from tools.import_cycles import module_files

    files = module_files()
    forbidden = (
        "PySide6",
        "sqlite3",
        "kiosk.store",
        "kiosk.config",
        "kiosk.sync",
        "ui",
        "devices",
        "printing",
    )
    leaks = {
        f"{module}: {name}"
        for module in CENTRAL_MAY_USE
        for name in _imports(files[module])
        if any(name == f or name.startswith(f + ".") for f in forbidden)
    }
    assert not leaks


def test_no_two_modules_import_each_other() -> None:
    from tools.import_cycles import cycles, import_graph

    assert cycles(import_graph()) == []


def test_the_server_schemas_take_exactly_the_protocol_fields() -> None:
    from protocol.items import INSPECTION_FIELDS, SUBMISSION_FIELDS

    assert tuple(schemas.InspectionIn.model_fields) == INSPECTION_FIELDS
    assert tuple(schemas.SubmissionIn.model_fields) == SUBMISSION_FIELDS


def test_a_stored_item_that_makes_no_protocol_item_is_set_aside_and_the_others_go(tmp_path: Path) -> None:
    core = open_core(Settings(data_dir=tmp_path))
    try:
        core.outbox.enqueue(kind="submission", item_id="broken", payload={"id": "broken"})
        core.checkpoint.inspect("11010519491231002X", source="manual")
        fake = FakeCentral()
        status, result = SyncEngine(core.outbox, fake).run_once()
        (held,) = core.outbox.quarantined()
    finally:
        core.close()
    assert status.online and result.rejected == 1 and result.accepted == 1
    assert held.item_id == "broken" and "service_id" in held.reason
    assert list(fake.kinds.values()) == ["inspection"]
