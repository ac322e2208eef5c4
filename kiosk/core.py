"""Wires the core together for one data folder: settings, store, hash keys, checkpoint.

Both the GUI and the command line start from here, so they see the same data the same way. The core holds
the one current copy of the settings; whoever needs them later is given ``lambda: core.settings`` (a
:data:`~kiosk.config.SettingsSource`) and asks at each use, so :meth:`KioskCore.apply` is the only step a
change made in admin mode needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.checkpoint import Checkpoint
from kiosk.codes.registry import CodeRegistry
from kiosk.codes.setup import policy_for, registry_for
from kiosk.config import Settings, load_settings
from kiosk.keystore import PERSON_KEY_FILE, load_or_create_secret, load_secret
from kiosk.outbox import Outbox
from kiosk.store import Store


@dataclass
class KioskCore:
    settings: Settings
    store: Store
    registry: CodeRegistry
    checkpoint: Checkpoint
    # Everything the central API has yet to acknowledge; kiosk.sync.open_sync delivers it.
    outbox: Outbox

    def current_settings(self) -> Settings:
        """The settings in force now (a :data:`~kiosk.config.SettingsSource`)."""
        return self.settings

    def apply(self, settings: Settings) -> None:
        """Put changed settings in force. What reads them at each use (the checkpoint, the submission desk,
        the sync engine's bundle step) follows by itself; the code formats carry the trust policy, so they
        are rebuilt when it changed. Reads keys and the trust store: call it off the GUI thread."""
        before, self.settings = self.settings, settings
        if policy_for(settings) != policy_for(before):
            # One assignment: a scan running now finishes with the old formats, the next one uses the new.
            self.registry.formats = registry_for(settings).formats

    def close(self) -> None:
        self.store.close()


def open_core(settings: Settings) -> KioskCore:
    store = Store(settings.store_path)
    # Creates the device's code-signing key at first start and trusts it, with the folder's trust store.
    registry = registry_for(settings)
    local_key = load_or_create_secret(settings.secrets_dir / "inspection-hash.key")
    person_key_file = settings.secrets_dir / PERSON_KEY_FILE

    def person_key() -> bytes:
        # Read at every inspection (32 bytes, human-paced): an enrolment while the kiosk runs, from the admin
        # page or `kiosk enrol`, takes effect at the next scan. Unenrolled, or enrolled with a server that
        # sent no key, persons are counted under the local key.
        return load_secret(person_key_file) or local_key

    def current() -> Settings:
        return core.settings

    checkpoint = Checkpoint(store, registry, hash_key=local_key, settings=current, person_key=person_key)
    core = KioskCore(settings, store, registry, checkpoint, Outbox(store))
    return core


def open_core_at(data_dir: Path, overrides: dict[str, Any] | None = None) -> KioskCore:
    return open_core(load_settings(data_dir, overrides))
