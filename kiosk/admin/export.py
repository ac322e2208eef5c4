"""The outbox exported from admin mode to a USB stick, in the sealed, signed format of ``kiosk export``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from kiosk.store import Store


class NotEnrolled(Exception):
    """The kiosk has no central key to seal an export to: it must be enrolled first."""


def export_outbox(store: Store, secrets_dir: Path, folder: Path, now: datetime) -> tuple[Path, int]:
    """Pending and quarantined items into ``folder`` (``kiosk.sneakernet``'s format), so the centre can import
    or examine them; returns the file and the count. Raises :class:`NotEnrolled` when there is no central key.
    Items whose personal data is still under the kiosk's local key stay behind, as in ``kiosk export``."""
    from kiosk.central_client import DEVICE_KEY_FILE, load_credentials
    from kiosk.keystore import load_or_create_secret
    from kiosk.outbox import Outbox
    from kiosk.sneakernet import export_pending

    credentials = load_credentials(secrets_dir)
    if credentials is None:
        raise NotEnrolled("not enrolled")
    seed = load_or_create_secret(secrets_dir / DEVICE_KEY_FILE)
    out = folder / f"kiosk-export-{credentials.device_id}-{now:%Y%m%d-%H%M%S}.json"
    count = export_pending(Outbox(store), credentials, seed, out, include_quarantined=True, now=now)
    return out, count
