"""Child process of the crash-safety test: records inspections and syncs them, in a loop, until killed."""

from __future__ import annotations

import random
import sys
import uuid
from pathlib import Path

from kiosk.central_client import DEVICE_KEY_FILE, HttpCentral, load_credentials
from kiosk.config import Settings
from kiosk.core import open_core
from kiosk.keystore import load_or_create_secret
from kiosk.sync import SyncEngine


def main(data_dir: Path, seed: int) -> None:
    rng = random.Random(seed)
    core = open_core(Settings(data_dir=data_dir))
    secrets_dir = core.settings.secrets_dir
    credentials = load_credentials(secrets_dir)
    assert credentials is not None
    client = HttpCentral(credentials, load_or_create_secret(secrets_dir / DEVICE_KEY_FILE))
    # Small batches, so that a kill lands between batches and inside them, not only between passes.
    engine = SyncEngine(core.outbox, client, batch_size=rng.choice((1, 5, 20)))
    while True:
        for _ in range(rng.randint(1, 30)):
            core.checkpoint.inspect(f"crash-test {uuid.uuid4()}", source="manual")
        engine.run_once()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
