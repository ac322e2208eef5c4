"""Personal data at rest: sealed to the central key once it is known, else under a local data key.

An enrolled kiosk seals each submission's personal fields to the central key (``protocol.sealing``): the
kiosk itself can no longer read them, so a stolen kiosk leaks nothing it has already recorded. A kiosk
that has never been enrolled (offline from day one) has no central key yet; it encrypts with AES-256-GCM
under a random data key kept in ``DATA_DIR/secrets`` (owner-only, apart from the database, so a copy of
the database alone reveals nothing). :func:`reseal_pending` turns those into sealed boxes as soon as the
central key is known; it must run after enrolment and before any upload.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kiosk.fileio import FileProblem
from kiosk.keystore import load_or_create_secret
from kiosk.store import Store
from protocol.sealing import b64d, seal

log = logging.getLogger(__name__)

LOCAL_MAGIC = b"KL1"
LOCAL_KEY_FILE = "personal-data.key"
_NONCE_LEN = 12


class LocalBoxError(ValueError):
    """A locally encrypted value that does not open with the data key (damaged, or moved to another row)."""


def central_seal_key(secrets_dir: Path) -> bytes | None:
    """The central X25519 public key from the enrolment credentials, or None before enrolment."""
    from kiosk.central_client import load_credentials

    try:
        credentials = load_credentials(secrets_dir)
    except FileProblem as err:
        # A damaged enrolment must not stop a person's submission: it is kept under the local key, as before
        # enrolment, and sealed to the central key once the enrolment is readable again (reseal_pending).
        log.error("enrolment unreadable, personal data kept under the local key: %s", err)
        return None
    if credentials is None:
        return None
    try:
        key = b64d(credentials.seal_key)
    except ValueError:
        key = b""
    if len(key) != 32:
        log.error("enrolment's seal key is not an X25519 key; personal data kept under the local key")
        return None
    return key


def is_local_box(box: bytes | None) -> bool:
    return box is not None and box.startswith(LOCAL_MAGIC)


def _aad(record_id: str) -> bytes:
    # The record id is authenticated with the value, so a box copied onto another record does not open.
    return LOCAL_MAGIC + record_id.encode("ascii")


class PersonalDataLock:
    def __init__(self, secrets_dir: Path) -> None:
        self.secrets_dir = secrets_dir

    def _local_key(self) -> bytes:
        return load_or_create_secret(self.secrets_dir / LOCAL_KEY_FILE)

    def protect(self, plaintext: bytes, record_id: str) -> bytes:
        """Sealed to the central key when enrolled; else AES-GCM under the local data key."""
        central = central_seal_key(self.secrets_dir)
        if central is not None:
            return seal(central, plaintext)
        nonce = os.urandom(_NONCE_LEN)
        return LOCAL_MAGIC + nonce + AESGCM(self._local_key()).encrypt(nonce, plaintext, _aad(record_id))

    def open_local(self, box: bytes, record_id: str) -> bytes:
        if not is_local_box(box):
            raise LocalBoxError("not a locally encrypted value")
        start = len(LOCAL_MAGIC)
        nonce, body = box[start : start + _NONCE_LEN], box[start + _NONCE_LEN :]
        try:
            return AESGCM(self._local_key()).decrypt(nonce, body, _aad(record_id))
        except InvalidTag:
            raise LocalBoxError(f"personal data of {record_id} does not open with the local key") from None


def reseal_pending(store: Store, secrets_dir: Path) -> int:
    """Re-seal every locally encrypted submission to the central key, in the submissions table and the
    outbox together; returns how many. Does nothing (returns 0) before enrolment. Safe to run repeatedly.

    A value that does not open with the local key is logged and left as it is, so that one damaged row
    does not hold back the others; the outbox never sends it (see ``kiosk.outbox``)."""
    central = central_seal_key(secrets_dir)
    if central is None:
        return 0
    lock = PersonalDataLock(secrets_dir)
    rows = store.query(
        "SELECT id, sealed_personal FROM submissions WHERE substr(sealed_personal, 1, ?) = ?",
        (len(LOCAL_MAGIC), LOCAL_MAGIC),
    )
    done = 0
    for row in rows:
        try:
            plaintext = lock.open_local(row["sealed_personal"], row["id"])
        except LocalBoxError as err:
            log.error("cannot re-seal: %s", err)
            continue
        sealed = seal(central, plaintext)
        with store.transaction() as conn:
            conn.execute("UPDATE submissions SET sealed_personal = ? WHERE id = ?", (sealed, row["id"]))
            conn.execute(
                "UPDATE outbox SET sealed_personal = ? WHERE item_id = ? AND kind = 'submission'",
                (sealed, row["id"]),
            )
        done += 1
    if done:
        log.info("re-sealed the personal data of %d submission(s) to the central key", done)
    return done
