"""SIGKILL the kiosk at random points while it records and syncs; afterwards the server must hold every
inspection the kiosk recorded, exactly once.

20 kills here; KIOSK_FULL_TESTS=1 runs 200 (the full run).
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from central_helpers import running_server
from test_sync_live import server_ids

from central.models import Inspection
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.sync import open_sync

KILLS = 200 if os.environ.get("KIOSK_FULL_TESTS") == "1" else 20
CHILD = Path(__file__).with_name("crash_child.py")


def test_sigkill_during_writes_and_syncs_loses_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(20250301)
    data = tmp_path / "kiosk"
    with running_server(tmp_path, device_rate=(10_000.0, 10_000.0)) as live:
        live.enrol(data)
        for kill in range(KILLS):
            child = subprocess.Popen([sys.executable, str(CHILD), str(data), str(kill)])
            # Long enough to get past start-up most times, short enough to land anywhere in the work.
            time.sleep(rng.uniform(0.3, 1.5))
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        core = open_core(Settings(data_dir=data))
        try:
            recorded = {row[0] for row in core.store.query("SELECT id FROM inspections")}
            engine = open_sync(core)
            assert engine is not None
            status, _ = engine.run_once()
            assert status.online and status.pending == 0 and status.quarantined == 0
            assert core.checkpoint.pending_upload() == 0
        finally:
            core.close()
        stored = server_ids(live.database_url, Inspection)
    assert len(recorded) > KILLS, "the children recorded too little for the test to mean anything"
    assert len(stored) == len(set(stored))
    assert set(stored) == recorded
