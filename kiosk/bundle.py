"""The last good bundle from the central server, kept as files in ``<data>/bundle/``.

A downloaded bundle replaces the kept one only when it parses, has every part, and carries a valid
signature by the bundle key pinned at enrolment. Anything else (truncated download, a proxy's error page,
a forged bundle) is refused and the kiosk carries on with what it had. Each part is also written as its own
file (``trust_store.json``, ``revocations.json``, ``services.json``, ``site.json``) for the modules that use
it. The trust store and revocations go to the signed-codes module through the sync engine's ``on_bundle``
(``kiosk.codes.setup.install_bundle_trust``).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.codes.truststore import TrustStore, TrustStoreError, from_bundle
from kiosk.fileio import FileProblem, parse_json, read_capped, write_atomically
from protocol.sealing import b64d, canonical_json, verify

log = logging.getLogger(__name__)

BUNDLE_FILE = "bundle.json"
# Site, services and trust store: a few hundred kilobytes at most; more is not a bundle.
MAX_BUNDLE_BYTES = 16 * 1024 * 1024
PARTS: dict[str, type | tuple[type, ...]] = {
    "site": dict,
    "services": list,
    "trust_store": (dict, list),
    "revocations": list,
}
_FIELDS: dict[str, type | tuple[type, ...]] = {
    "version": str,
    "issued_at": str,
    "seal_key": str,
    "signature": str,
}
# Parts a centre may leave out: the health-status list of ID-card holders (kiosk/health_list.py).
OPTIONAL_PARTS = ("health_status",)


class BundleError(ValueError):
    pass


def parse_bundle(raw: bytes, signing_key: bytes) -> dict[str, Any]:
    """The bundle, if ``raw`` is a complete bundle signed by ``signing_key``; else :class:`BundleError`."""
    try:
        bundle = parse_json(raw, "bundle")
    except FileProblem as err:
        raise BundleError(str(err)) from None
    if not isinstance(bundle, dict):
        raise BundleError("bundle is not a JSON object")
    for name, kind in (PARTS | _FIELDS).items():
        if not isinstance(bundle.get(name), kind):
            raise BundleError(f"bundle part {name!r} missing or of the wrong type")
    signed = {key: value for key, value in bundle.items() if key != "signature"}
    try:
        signature = b64d(bundle["signature"])
    except ValueError:
        raise BundleError("bundle signature is not base64") from None
    if not verify(signing_key, signature, canonical_json(signed)):
        raise BundleError("bundle signature does not verify")
    try:
        # Checked before anything is kept, so that a store the checkpoint cannot use refuses the whole bundle.
        from_bundle(bundle["trust_store"], bundle["revocations"], TrustStore(), datetime.now(UTC))
    except TrustStoreError as err:
        raise BundleError(f"bundle trust store unusable: {err}") from None
    return bundle


class BundleStore:
    def __init__(self, folder: Path, signing_key: bytes) -> None:
        self.folder = folder
        self.signing_key = signing_key

    def current(self) -> dict[str, Any] | None:
        """The last good bundle, or None before the first one arrived."""
        try:
            return parse_bundle(read_capped(self.folder / BUNDLE_FILE, MAX_BUNDLE_BYTES), self.signing_key)
        except FileNotFoundError:
            return None
        except (BundleError, FileProblem) as err:
            # Only a good bundle is ever written, so this is a damaged disk: say so, run without.
            log.error("kept bundle unreadable: %s", err)
            return None

    def version(self) -> str | None:
        bundle = self.current()
        return bundle["version"] if bundle else None

    def accept(self, raw: bytes) -> dict[str, Any]:
        """Keep ``raw`` if it is a good bundle (else raise :class:`BundleError`, keeping the old one)."""
        bundle = parse_bundle(raw, self.signing_key)
        self.folder.mkdir(parents=True, exist_ok=True)
        for name in PARTS:
            write_atomically(
                self.folder / f"{name}.json", json.dumps(bundle[name], ensure_ascii=False).encode()
            )
        for name in OPTIONAL_PARTS:
            part = self.folder / f"{name}.json"
            if name in bundle:
                write_atomically(part, json.dumps(bundle[name], ensure_ascii=False).encode())
            else:
                part.unlink(missing_ok=True)  # a list the centre no longer publishes is not kept in force
        # Last, so that a crash part-way leaves the previous bundle file as the one in force.
        write_atomically(self.folder / BUNDLE_FILE, raw)
        return bundle
