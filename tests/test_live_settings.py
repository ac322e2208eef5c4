"""Settings changed in admin mode reach everything that uses them, on both kinds of kiosk, and stay in force:
the site name and checkpoint ID reach receipts and submission numbers, the checkpoint's own rules and the
top bar; a trust-age limit changed live is not undone by the next bundle the central server sends."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from fakes import FakeCentral
from PySide6.QtCore import Qt
from test_ui_admin import WAIT_MS, enter_admin, set_pin

from kiosk.central_client import Credentials, save_credentials
from kiosk.codes.keys import SigningKey, key_id
from kiosk.codes.truststore import TrustedKey, TrustStore
from kiosk.forms.answers import example_answers
from kiosk.forms.submissions import device_prefix
from kiosk.sync import open_sync
from protocol.sealing import b64e, canonical_json, sign, signing_public_key

NEW_SITE = "新城检查站"
NEW_CHECKPOINT = "CP-777"


def save_in_admin(qtbot: Any, window: Any, **values: str) -> None:
    """Type ``values`` into admin mode's settings page and save them, as an administrator would."""
    admin = enter_admin(qtbot, window)
    admin.screen.show_page("settings")
    page = admin.settings_page
    for key, value in values.items():
        page.set_field(key, value)
    qtbot.mouseClick(page.save_button, Qt.MouseButton.LeftButton)
    applied = "admin.settings.applied"
    from kiosk.i18n import translate

    qtbot.waitUntil(lambda: page.message.text() == translate(applied, window.language), timeout=WAIT_MS)


def policy_days(window: Any) -> float:
    """The trust-age limit the running kiosk's signed-code formats judge by."""
    ages = {fmt.policy.max_trust_age for fmt in window.core.registry.formats if hasattr(fmt, "policy")}
    assert len(ages) == 1
    return ages.pop() / timedelta(days=1)


@pytest.mark.parametrize("mode", ["self-service", "checkpoint"])
def test_settings_changed_live_reach_every_user(
    make_window: Any, qtbot: Any, ui_data_dir: Path, mode: str
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home", mode=mode, printer="fake")
    save_in_admin(
        qtbot,
        window,
        site_name=NEW_SITE,
        checkpoint_id=NEW_CHECKPOINT,
        duplicate_window_s="120",
        idle_timeout_s="90",
        language="en",
    )
    assert window.language == "en" and window.idle._idle.interval() == 90_000
    assert window.top_bar.site_label.text() == NEW_SITE
    assert NEW_CHECKPOINT in window.top_bar.checkpoint_label.text()
    inspection = window.core.checkpoint.inspect("live settings", source="manual")
    row = window.core.store.query("SELECT checkpoint_id FROM inspections ORDER BY rowid DESC LIMIT 1")[0]
    assert row[0] == NEW_CHECKPOINT and not inspection.duplicate
    assert window.core.checkpoint.inspect("live settings", source="manual").duplicate  # within 120 s
    if mode == "self-service":
        desk = window.self_service.desk
        definition = window.self_service.catalogue.get("queue-ticket")
        submission = desk.submit(definition, example_answers(definition), "zh-CN")
        assert submission.number.startswith(device_prefix(NEW_CHECKPOINT) + "-")
        assert submission.receipt.site_name == NEW_SITE
        stored = window.core.store.query("SELECT device_id FROM submissions WHERE id = ?", (submission.id,))
        assert stored[0][0] == NEW_CHECKPOINT


def _issuer() -> SigningKey:
    private = ed25519.Ed25519PrivateKey.generate()
    return SigningKey(private, key_id(private.public_key()))


def _bundle(seed: bytes, version: str) -> bytes:
    issuer = _issuer()
    trusted = [TrustedKey(issuer.kid, issuer.public, frozenset(["health"]), label="central issuer")]
    body = {
        "version": version,
        "issued_at": "2026-01-01T00:00:00+00:00",
        "site": {"name": "s"},
        "services": [],
        "trust_store": TrustStore().with_keys(trusted).to_json(),
        "revocations": [],
        "seal_key": b64e(b"k" * 32),
    }
    return json.dumps(body | {"signature": b64e(sign(seed, canonical_json(body)))}).encode()


@pytest.mark.parametrize("mode", ["self-service", "checkpoint"])
def test_a_trust_age_limit_changed_live_survives_the_next_bundle(
    make_window: Any, qtbot: Any, ui_data_dir: Path, mode: str
) -> None:
    set_pin(ui_data_dir)
    window = make_window(screen="home", mode=mode)
    assert policy_days(window) == window.core.settings.trust_max_age_days != 2
    # The sync engine is built when the kiosk starts (or is enrolled), before any setting is changed.
    seed = b"s" * 32
    save_credentials(
        ui_data_dir / "secrets",
        Credentials(
            "http://central.invalid", "dev-1", "tok", "site", b64e(signing_public_key(seed)), b64e(bytes(32))
        ),
    )
    engine = open_sync(window.core)
    assert engine is not None
    engine.client = FakeCentral(bundle=_bundle(seed, "v1"))

    save_in_admin(qtbot, window, trust_max_age_days="2")
    assert policy_days(window) == 2
    status, result = engine.run_once()
    assert result.bundle_updated and status.error is None, status.error
    assert policy_days(window) == 2  # the new trust store is judged under the limit in force
