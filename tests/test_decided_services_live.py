"""A fourth decided service added to a running deployment with files alone — its service definition and its
decision file put into the bundle, its data set loaded from a CSV file, all with `kiosk-central` commands — is
offered by a kiosk after one sync and its applications are decided by the real server, with the reasons the
decision file gives. No code names the service."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from central_helpers import LiveServer, running_server
from test_decided_services import DRIVER, FOURTH_DECISION, FOURTH_REFUSAL, FOURTH_SERVICE, GRADE_3, NOBODY

from central.cli import main as central_main
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.decisions.rules import DECISIONS_DIR
from kiosk.forms.definition import catalogue_for
from kiosk.forms.slots import FakeSlots
from kiosk.forms.submissions import SubmissionDesk
from kiosk.sync import open_sync

WAIT_S = 10.0  # generous on a loaded machine; the done page's own bound is tested with the shipped services


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with running_server(tmp_path, device_rate=(1000.0, 1000.0)) as live:
        yield live


def _cli(server: LiveServer, *args: str) -> int:
    return central_main([*args, "--database", server.database_url, "--key-dir", str(server.key_dir)])


def test_a_fourth_service_deployed_as_files_is_offered_and_decided(
    server: LiveServer, tmp_path: Path
) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "services.json").write_text(json.dumps([FOURTH_SERVICE], ensure_ascii=False), "utf-8")
    (files / "only-child-reward.json").write_text(json.dumps(FOURTH_DECISION, ensure_ascii=False), "utf-8")
    # The register as its keeper exports it: ID numbers in clear, which the server hashes with its own key.
    (files / "family-planning-register.csv").write_text(f"id_number,children\n{GRADE_3},1\n", "utf-8")
    assert _cli(server, "bundle-set", "services", str(files / "services.json")) == 0
    assert _cli(server, "decision-set", str(files / "only-child-reward.json")) == 0
    register = str(files / "family-planning-register.csv")
    load = ["dataset-load", register, "--name", "family-planning-register", "--version", "2026-12-01.1"]
    assert _cli(server, *load) == 0

    data_dir = tmp_path / "kiosk"
    server.enrol(data_dir)
    core = open_core(Settings(data_dir=data_dir, mode="self-service", checkpoint_id="CP-001"))
    try:
        engine = open_sync(core)
        assert engine is not None
        status, result = engine.run_once()
        assert status.online and result.bundle_updated
        # Offered beside the shipped services, from the bundle the kiosk just synced.
        definition = catalogue_for(data_dir).services["only-child-reward"]
        desk = SubmissionDesk(core.store, core.current_settings, FakeSlots())

        def decided(id_number: str) -> Any:
            submitted = desk.submit(definition, {"name": "张三", "id_number": id_number}, "zh-CN")
            known = engine.send_now(submitted.id, WAIT_S)
            assert known is not None
            return known

        approved = decided(GRADE_3)  # 85, on the register
        assert (approved.outcome, approved.final) == ("approved", True) and approved.code
        for refused in (decided(DRIVER), decided(NOBODY)):  # 38; 80 but not on the register
            assert refused.outcome == "rejected"
            assert refused.reasons_in("zh-CN") == [FOURTH_REFUSAL["zh-CN"]]
            assert refused.reasons_in("en") == [FOURTH_REFUSAL["en"]]
    finally:
        core.close()
    # Nothing was added to the shipped decisions for it.
    assert not (DECISIONS_DIR / "only-child-reward.json").exists()
