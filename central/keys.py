"""The central server's keys, kept as owner-only files in a key folder shared by the API processes.

- ``seal.key`` (X25519): personal fields are sealed to its public half; only a holder of this file opens them.
- ``bundle-signing.key`` (Ed25519): signs the bundle; kiosks pin its public half at enrolment.
- ``person-hash.key`` (32 random bytes): handed to every kiosk at enrolment, which keys its subject hashes
  with it, so that one person scanned at two kiosks of a checkpoint is one person (人数) here.
- ``decision-signing.key`` (Ed25519): signs the decision codes of approved submissions (智慧批); its public
  half goes to every kiosk in the bundle's trust store, so any checkpoint verifies them.
- ``dataset-hash.key`` (32 random bytes): the HMAC key of the identifiers in the reference data sets; rows
  are looked up by the keyed hash of an applicant's ID number, and no data set holds a number in clear.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from protocol.sealing import seal_public_key, signing_public_key

KEY_BYTES = 32


@dataclass(frozen=True)
class CentralKeys:
    seal_private: bytes
    bundle_seed: bytes
    person_hash: bytes
    decision_seed: bytes
    dataset_hash: bytes

    @property
    def seal_public(self) -> bytes:
        return seal_public_key(self.seal_private)

    @property
    def bundle_public(self) -> bytes:
        return signing_public_key(self.bundle_seed)


def load_or_create_key(path: Path) -> bytes:
    """The 32-byte key in ``path``, created owner-only if there is none. Several API processes may start at
    once on one key folder: a new key is written whole to a file of this process's own and then hard-linked
    into place, which fails if another process got there first, so all of them end up with the same key and
    none ever reads a half-written one."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, secrets.token_bytes(KEY_BYTES))
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process made the key: use that one
        finally:
            tmp.unlink()
    data = path.read_bytes()
    if len(data) != KEY_BYTES:
        raise ValueError(f"key file {path.name} has {len(data)} bytes, expected {KEY_BYTES}")
    return data


def load_keys(key_dir: Path) -> CentralKeys:
    return CentralKeys(
        seal_private=load_or_create_key(key_dir / "seal.key"),
        bundle_seed=load_or_create_key(key_dir / "bundle-signing.key"),
        person_hash=load_or_create_key(key_dir / "person-hash.key"),
        decision_seed=load_or_create_key(key_dir / "decision-signing.key"),
        dataset_hash=load_or_create_key(key_dir / "dataset-hash.key"),
    )
