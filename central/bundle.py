"""The bundle a kiosk downloads: site config, service definitions, trust store and revocation list, signed
with the bundle key so that a kiosk can tell a good bundle from a corrupt or forged one."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.db import as_utc, utcnow
from central.decisions import trust_entry
from central.keys import CentralKeys
from central.models import BundlePart
from protocol.sealing import b64e, canonical_json, sign

# "sites" maps a site name to that site's config; the others are the same for every site.
PARTS = ("sites", "services", "trust_store", "revocations")
_EMPTY: dict[str, Any] = {"sites": {}, "services": [], "trust_store": {}, "revocations": []}
# Parts sent only once set: the health-status list of ID-card holders (keyed hashes with
# their colour, kiosk/health_list.py). Kiosks answer a missing list with yellow, never with green.
# The decision files (智慧批) the services name, file name → decision document: the server decides by them
# and kiosks may apply those that need nothing but the answers offline, for a provisional answer.
OPTIONAL_PARTS = ("health_status", "decisions")


def set_part(session: Session, name: str, content: Any) -> None:
    if name not in PARTS + OPTIONAL_PARTS:
        raise ValueError(f"unknown bundle part {name!r}; one of {', '.join(PARTS + OPTIONAL_PARTS)}")
    expected = type(_EMPTY[name]) if name in PARTS else dict
    if not isinstance(content, expected):
        raise ValueError(f"bundle part {name!r} must be a JSON {'object' if expected is dict else 'array'}")
    part = session.get(BundlePart, name)
    if part is None:
        session.add(BundlePart(name=name, content=content, updated_at=utcnow()))
    else:
        part.content, part.updated_at = content, utcnow()
    session.commit()


def with_decision_key(trust_store: Any, keys: CentralKeys) -> Any:
    """The centre's trust store with this server's decision-code key added, so that every kiosk verifies the
    decision codes the server signs. An empty part stays empty: it means the centre distributes no trust
    store and each kiosk keeps the one installed on it (``kiosk keys import-trust``), which must then hold
    the key (``kiosk-central decision-key``)."""
    if not isinstance(trust_store, dict) or not trust_store:
        return trust_store
    listed = trust_store.get("keys", [])
    if not isinstance(listed, list):
        return trust_store  # a malformed store is the kiosk's to refuse, as it was published
    entry = trust_entry(keys)
    entries = [k for k in listed if not (isinstance(k, dict) and k.get("kid") == entry["kid"])]
    return trust_store | {"keys": [*entries, entry]}


def build_bundle(session: Session, keys: CentralKeys, site: str) -> dict[str, Any]:
    parts = {p.name: p for p in session.scalars(select(BundlePart))}
    content = {name: parts[name].content if name in parts else _EMPTY[name] for name in PARTS}
    issued = max((as_utc(p.updated_at) for p in parts.values()), default=datetime(2000, 1, 1, tzinfo=UTC))
    body: dict[str, Any] = {
        "issued_at": issued.isoformat(),
        "site": {"name": site} | content["sites"].get(site, {}),
        "services": content["services"],
        "trust_store": with_decision_key(content["trust_store"], keys),
        "revocations": content["revocations"],
        "seal_key": b64e(keys.seal_public),
    }
    body |= {name: parts[name].content for name in OPTIONAL_PARTS if name in parts}
    # The version is a hash of the content, so every API process computes the same ETag.
    body["version"] = hashlib.sha256(canonical_json(body)).hexdigest()[:32]
    body["signature"] = b64e(sign(keys.bundle_seed, canonical_json(body)))
    return body
