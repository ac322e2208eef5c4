"""Enrolment from the admin settings page: the same exchange as ``kiosk enrol``, then the URL saved."""

from __future__ import annotations

from kiosk.admin.settings import SavedSettings, save_settings
from kiosk.config import Settings, SettingsError, settings_from_values
from kiosk.store import Store


def enrol_kiosk(current: Settings, store: Store, url: str, code: str, name: str) -> tuple[str, SavedSettings]:
    """Enrol with a central server (as ``kiosk enrol`` does) and keep its URL in ``kiosk.toml``; returns
    the device id the server gave. The URL is validated first, so a typo costs no one-time code. Raises
    :class:`SettingsError` for the URL, ``kiosk.central_client.CentralError`` for the server's refusal."""
    from kiosk import __version__
    from kiosk.central_client import DEVICE_KEY_FILE, enrol, save_credentials
    from kiosk.forms.protect import reseal_pending
    from kiosk.keystore import load_or_create_secret

    settings_from_values(current.data_dir, {"central_url": url or None})
    if not url:
        raise SettingsError("setting 'central_url' must be set to enrol", "central_url")
    seed = load_or_create_secret(current.secrets_dir / DEVICE_KEY_FILE)
    credentials = enrol(url, code, seed, name, __version__)
    save_credentials(current.secrets_dir, credentials)
    # The central key is known now: what was stored under the local key is sealed to it at once.
    reseal_pending(store, current.secrets_dir)
    return credentials.device_id, save_settings(current, {"central_url": url})
