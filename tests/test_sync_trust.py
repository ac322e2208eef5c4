"""The trust store travels in the central bundle: a sync pass changes what the running checkpoint trusts,
and a bundle that is corrupt, forged or carries an unusable store changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from central_helpers import running_server
from cryptography.hazmat.primitives.asymmetric import ed25519
from fakes import FakeCentral

from kiosk.bundle import BundleStore
from kiosk.codes.keys import SigningKey, key_id
from kiosk.codes.registry import Verdict
from kiosk.codes.setup import install_bundle_trust
from kiosk.codes.signed import issue
from kiosk.codes.truststore import TRUST_STORE_FILE, TrustedKey, TrustStore, load_data_dir_store
from kiosk.config import Settings
from kiosk.core import KioskCore, open_core
from kiosk.sync import SyncEngine, open_sync
from protocol.sealing import b64e, canonical_json, sign, signing_public_key

HEALTH = {"colour": "green", "name": "欧阳小明", "id_number": "11010519491231002X"}


def issuer_key() -> SigningKey:
    private = ed25519.Ed25519PrivateKey.generate()
    return SigningKey(private, key_id(private.public_key()))


def trust_document(*keys: SigningKey) -> dict[str, Any]:
    trusted = [TrustedKey(k.kid, k.public, frozenset(["health"]), label="central issuer") for k in keys]
    return TrustStore().with_keys(trusted).to_json()


@pytest.fixture
def kiosk(tmp_path: Path) -> Iterator[KioskCore]:
    core = open_core(Settings(data_dir=tmp_path / "kiosk"))
    yield core
    core.close()


def test_a_key_revoked_on_the_server_turns_red_after_one_sync_pass(kiosk: KioskCore, tmp_path: Path) -> None:
    from central.cli import main as central_main

    issuer = issuer_key()
    code = issue("health", HEALTH, issuer, datetime.now(UTC))
    assert kiosk.registry.evaluate(code).verdict is not Verdict.GREEN  # nobody told this kiosk the issuer

    with running_server(tmp_path) as live:
        db = ["--database", live.database_url]

        def publish(part: str, content: Any) -> None:
            path = tmp_path / f"{part}.json"
            path.write_text(json.dumps(content), "utf-8")
            assert central_main(["bundle-set", part, str(path), *db]) == 0

        live.enrol(kiosk.settings.data_dir)
        engine = open_sync(kiosk)
        assert engine is not None
        publish("trust_store", trust_document(issuer))
        status, result = engine.run_once()
        assert status.online and result.bundle_updated and status.error is None
        # The running checkpoint, not only a restarted one, trusts the issuer now.
        assert kiosk.checkpoint.registry.evaluate(code).verdict is Verdict.GREEN

        publish("revocations", [{"kid": issuer.kid.hex()}])
        status, result = engine.run_once()
        assert status.online and result.bundle_updated
    result_now = kiosk.checkpoint.registry.evaluate(code)
    assert (result_now.verdict, result_now.reason.key) == (Verdict.RED, "signed.key_revoked")
    # Kept in the data folder: a restart (with the server gone) still refuses the revoked key.
    assert issuer.kid in load_data_dir_store(kiosk.settings.data_dir).revoked_kids
    restarted = open_core(kiosk.settings)
    try:
        assert restarted.registry.evaluate(code).verdict is Verdict.RED
    finally:
        restarted.close()


def _bundle(seed: bytes, trust_store: Any, revocations: list[Any], version: str) -> bytes:
    body = {
        "version": version,
        "issued_at": "2026-01-01T00:00:00+00:00",
        "site": {"name": "s"},
        "services": [],
        "trust_store": trust_store,
        "revocations": revocations,
        "seal_key": b64e(b"k" * 32),
    }
    return json.dumps(body | {"signature": b64e(sign(seed, canonical_json(body)))}).encode()


@pytest.mark.parametrize("bad", ["truncated", "forged", "unusable trust store", "bad revocation"])
def test_a_bad_bundle_leaves_the_last_good_trust_in_force(kiosk: KioskCore, bad: str) -> None:
    seed = b"s" * 32
    issuer = issuer_key()
    code = issue("health", HEALTH, issuer, datetime.now(UTC))
    good = _bundle(seed, trust_document(issuer), [], "v1")
    revoking = [{"kid": issuer.kid.hex()}]
    fake = FakeCentral(bundle=good)
    engine = SyncEngine(
        kiosk.outbox,
        fake,
        BundleStore(kiosk.settings.data_dir / "bundle", signing_public_key(seed)),
        on_bundle=lambda bundle, changed: install_bundle_trust(
            kiosk.settings, kiosk.registry, bundle, changed=changed, now=datetime.now(UTC)
        ),
    )
    engine.run_once()
    assert kiosk.registry.evaluate(code).verdict is Verdict.GREEN
    fake.bundle = {
        "truncated": _bundle(seed, trust_document(issuer), revoking, "v2")[:-20],
        "forged": _bundle(b"x" * 32, trust_document(issuer), revoking, "v2"),
        "unusable trust store": _bundle(seed, {"format": "kiosk-trust-store", "version": "one"}, [], "v2"),
        "bad revocation": _bundle(seed, trust_document(issuer), [{"kid": "not hex"}], "v2"),
    }[bad]
    status, result = engine.run_once()
    assert not result.bundle_updated and status.error and "bundle refused" in status.error
    assert kiosk.registry.evaluate(code).verdict is Verdict.GREEN
    assert load_data_dir_store(kiosk.settings.data_dir).revoked_kids == frozenset()


def test_an_unchanged_bundle_keeps_the_trust_store_fresh(kiosk: KioskCore) -> None:
    issuer = issuer_key()
    bundle = {"trust_store": trust_document(issuer), "revocations": []}
    start = datetime.now(UTC)
    settings, registry = kiosk.settings, kiosk.registry
    assert install_bundle_trust(settings, registry, bundle, changed=True, now=start)
    # "Not modified" soon after: nothing to write.
    assert not install_bundle_trust(
        settings, registry, bundle, changed=False, now=start + timedelta(minutes=5)
    )
    # Days later the server still vouches for the same store: it counts as refreshed now, not stale.
    later = start + timedelta(days=10)
    assert install_bundle_trust(settings, registry, bundle, changed=False, now=later)
    assert load_data_dir_store(settings.data_dir).refreshed_at == later


def test_a_centre_without_a_trust_list_leaves_the_local_store_alone(kiosk: KioskCore) -> None:
    issuer = issuer_key()
    local = TrustStore(refreshed_at=datetime.now(UTC)).with_keys(
        [TrustedKey(issuer.kid, issuer.public, frozenset(["health"]))]
    )
    path = kiosk.settings.data_dir / TRUST_STORE_FILE
    local.save(path)
    before = path.read_bytes()
    empty = {"trust_store": {}, "revocations": []}
    assert not install_bundle_trust(
        kiosk.settings, kiosk.registry, empty, changed=True, now=datetime.now(UTC)
    )
    assert path.read_bytes() == before
