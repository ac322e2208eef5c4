"""The central server's keys, kept as owner-only files in a key folder shared by the API processes.

- ``seal.key`` (X25519): personal fields are sealed to its public half; only a holder of this file opens them.
- ``bundle-signing.key`` (Ed25519): signs the bundle; kiosks pin its public half at enrolment.
- ``person-hash.key`` (32 random bytes): handed to every kiosk at enrolment, which keys its subject hashes
  with it, so that one person scanned at two kiosks of a checkpoint is one person (人数) here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kiosk.keystore import load_or_create_secret
from kiosk.sealing import seal_public_key, signing_public_key


@dataclass(frozen=True)
class CentralKeys:
    seal_private: bytes
    bundle_seed: bytes
    person_hash: bytes

    @property
    def seal_public(self) -> bytes:
        return seal_public_key(self.seal_private)

    @property
    def bundle_public(self) -> bytes:
        return signing_public_key(self.bundle_seed)


def load_keys(key_dir: Path) -> CentralKeys:
    return CentralKeys(
        seal_private=load_or_create_secret(key_dir / "seal.key"),
        bundle_seed=load_or_create_secret(key_dir / "bundle-signing.key"),
        person_hash=load_or_create_secret(key_dir / "person-hash.key"),
    )
