"""`kiosk verify`, `kiosk codes issue` and `kiosk keys …`: signed codes from the command line.

Verification goes through the same registry as the checkpoint screen and `kiosk scan`. Exit status of
`kiosk verify`: 0 when every code is green, 1 when one is yellow or red (or an image holds none), 2 when
the command itself cannot run (bad arguments, unreadable file, unusable trust store).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.codes.claims import CODE_TYPES, DEVICE_TYPES, ClaimsError
from kiosk.codes.keys import load_or_create_device_key, load_private_key, public_key_der
from kiosk.codes.registry import CodeResult
from kiosk.codes.setup import DEVICE_KEY_LABEL, registry_for
from kiosk.codes.signed import issue
from kiosk.codes.truststore import (
    ALL_KINDS,
    TRUST_STORE_FILE,
    TrustStore,
    TrustStoreError,
    certificate_key,
    load_certificate,
    load_data_dir_store,
)
from kiosk.config import Settings, load_settings
from kiosk.fileio import FileProblem, read_capped
from kiosk.i18n import render, translate

QR_ERROR = "m"


class CommandError(Exception):
    """A problem with the command's input; printed as one line, exit status 2."""


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    """Register the subcommands on ``kiosk``'s subparsers; each sets ``handler(args, data_dir) -> int``."""
    verify = sub.add_parser("verify", parents=[common], help="verify a signed code (text or image)")
    verify.add_argument(
        "text", nargs="?", metavar="TEXT", help="the code's text (default: read standard input)"
    )
    verify.add_argument("--file", type=Path, metavar="IMAGE", help="decode the codes in an image instead")
    verify.add_argument(
        "--trust",
        type=Path,
        metavar="FILE",
        help="a trust-store file to use instead of the kiosk's, or an X.509 certificate (PEM or DER) "
        "to trust for this call for every code type",
    )
    verify.add_argument("--at", metavar="ISO-TIME", help="verify as at this time (default: now)")
    verify.add_argument("--json", action="store_true", help="one JSON object per code")
    verify.set_defaults(handler=cmd_verify)

    codes = sub.add_parser("codes", help="issue signed codes").add_subparsers(
        dest="codes_command", required=True
    )
    issue_cmd = codes.add_parser("issue", parents=[common], help="print a signed code (and its QR image)")
    issue_cmd.add_argument("--type", required=True, choices=sorted(CODE_TYPES), dest="code_type")
    issue_cmd.add_argument("--claims", required=True, metavar="JSON", help="the claims as a JSON object")
    issue_cmd.add_argument("--out", type=Path, metavar="PNG", help="also write the QR code image here")
    issue_cmd.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        help="sign with this private key (PKCS#8) instead of the device key",
    )
    issue_cmd.add_argument("--at", metavar="ISO-TIME", help="issue as at this time (default: now)")
    issue_cmd.set_defaults(handler=cmd_issue)

    keys = sub.add_parser("keys", help="the device key and the trust store").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser("show", parents=[common], help="key id and trust-store summary").set_defaults(
        handler=cmd_keys_show
    )
    keys.add_parser(
        "export-public", parents=[common], help="print this kiosk's public key as a trust-store entry"
    ).set_defaults(handler=cmd_keys_export)
    imp = keys.add_parser("import-trust", parents=[common], help="install a trust-store file")
    imp.add_argument("file", type=Path, metavar="FILE")
    imp.set_defaults(handler=cmd_keys_import)


def _settings(args: argparse.Namespace, data_dir: Path) -> Settings:
    return load_settings(data_dir, {"language": args.language})


def _clock(value: str | None) -> datetime:
    if value is None:
        return datetime.now().astimezone()
    try:
        # A time without an offset is local time, as an operator at the kiosk means it.
        return datetime.fromisoformat(value).astimezone()
    except ValueError:
        raise CommandError(f"--at: {value!r} is not an ISO 8601 time") from None


def _trust_override(path: Path | None, settings: Settings) -> TrustStore | None:
    if path is None:
        return None
    try:
        data = read_capped(path)
    except FileNotFoundError:
        raise CommandError(f"--trust: cannot read {path}: no such file") from None
    except FileProblem as err:
        raise CommandError(f"--trust: {err}") from None
    try:
        if data.lstrip().startswith(b"{"):
            return TrustStore.load(path)
        cert = load_certificate(data)
        return load_data_dir_store(settings.data_dir).with_keys(
            [certificate_key(cert, ALL_KINDS, pinned=True)]
        )
    except TrustStoreError as err:
        raise CommandError(f"--trust: {err}") from None


def _texts(args: argparse.Namespace, settings: Settings) -> list[str]:
    if args.file is not None:
        if args.text is not None:
            raise CommandError("give either TEXT or --file, not both")
        from devices.image_file import UnreadableImage, read_image
        from devices.qr import get_decoder

        try:
            image = read_image(args.file)
        except UnreadableImage as err:
            raise CommandError(f"{args.file}: {err}") from None
        return [symbol.text for symbol in get_decoder(settings.decoder).decode(image)]
    if args.text is not None:
        return [args.text]
    return [sys.stdin.readline().rstrip("\r\n")]


def _report(result: CodeResult, language: str) -> dict[str, Any]:
    return {
        "verdict": result.verdict.value,
        "reason": render(result.reason, language),
        "kind": result.kind,
        "claims": result.claims,
    }


def cmd_verify(args: argparse.Namespace, data_dir: Path) -> int:
    settings = _settings(args, data_dir)
    try:
        now = _clock(args.at)
        registry = registry_for(settings, _trust_override(args.trust, settings))
        texts = _texts(args, settings)
    except CommandError as err:
        print(f"kiosk verify: {err}", file=sys.stderr)
        return 2
    if not texts:
        print(f"kiosk verify: no code found in {args.file}", file=sys.stderr)
        return 1
    all_green = True
    for text in texts:
        result = registry.evaluate(text, now)
        all_green &= result.verdict.value == "green"
        report = _report(result, settings.language)
        if args.json:
            print(json.dumps(report, ensure_ascii=False), flush=True)
            continue
        verdict = translate(f"verdict.{report['verdict']}", settings.language)
        print(f"{report['verdict']}  {verdict}")
        print(f"  {report['reason']}")
        print(f"  kind: {report['kind']}")
        for name, value in report["claims"].items():
            print(f"  {name}: {value}")
    return 0 if all_green else 1


def cmd_issue(args: argparse.Namespace, data_dir: Path) -> int:
    settings = _settings(args, data_dir)
    try:
        now = _clock(args.at)
        try:
            claims = json.loads(args.claims)
        except json.JSONDecodeError as err:
            raise CommandError(f"--claims is not valid JSON: {err}") from None
        if args.key is not None:
            try:
                key = load_private_key(args.key)
            except (OSError, ValueError) as err:
                raise CommandError(f"--key: {err}") from None
        elif args.code_type in DEVICE_TYPES:
            key = load_or_create_device_key(settings.secrets_dir)
        else:
            raise CommandError(
                f"{args.code_type} codes are signed by the central issuer: give its key with --key"
            )
        try:
            text = issue(args.code_type, claims, key, now)
        except ClaimsError as err:
            raise CommandError(str(err)) from None
    except CommandError as err:
        print(f"kiosk codes issue: {err}", file=sys.stderr)
        return 2
    print(text)
    if args.out is not None:
        import segno

        qr = segno.make_qr(text, error=QR_ERROR)
        qr.save(str(args.out), scale=8, border=4)
        print(
            f"{args.out}: QR version {qr.version}, {qr.symbol_size(border=0)[0]} modules a side",
            file=sys.stderr,
        )
    return 0


def _own_entry(settings: Settings) -> dict[str, Any]:
    key = load_or_create_device_key(settings.secrets_dir)
    return {
        "kid": key.kid.hex(),
        "public_key": base64.b64encode(public_key_der(key.public)).decode("ascii"),
        "types": list(DEVICE_TYPES),
        "label": f"{DEVICE_KEY_LABEL} {settings.checkpoint_id}",
    }


def cmd_keys_show(args: argparse.Namespace, data_dir: Path) -> int:
    settings = _settings(args, data_dir)
    key = load_or_create_device_key(settings.secrets_dir)
    trust = load_data_dir_store(settings.data_dir)
    print(f"device key: {key.kid.hex()} ({key.algorithm}), signs {', '.join(DEVICE_TYPES)}")
    refreshed = trust.refreshed_at.isoformat() if trust.refreshed_at else "never"
    print(
        f"trust store: {len(trust.keys)} key(s), refreshed {refreshed}, "
        f"{len(trust.revoked_kids)} revoked key(s), {len(trust.revoked_codes)} revoked code(s)"
    )
    for entry in trust.keys.values():
        until = entry.not_after.date().isoformat() if entry.not_after else "open"
        print(f"  {entry.kid.hex()}  {', '.join(sorted(entry.types))}  until {until}  {entry.label}")
    return 0


def cmd_keys_export(args: argparse.Namespace, data_dir: Path) -> int:
    print(json.dumps(_own_entry(_settings(args, data_dir)), ensure_ascii=False, indent=2))
    return 0


def cmd_keys_import(args: argparse.Namespace, data_dir: Path) -> int:
    settings = _settings(args, data_dir)
    try:
        new = TrustStore.load(args.file)
    except TrustStoreError as err:
        print(f"kiosk keys import-trust: {err}", file=sys.stderr)
        return 2
    current = load_data_dir_store(settings.data_dir)
    if current.refreshed_at and (new.refreshed_at is None or new.refreshed_at < current.refreshed_at):
        # An older list could bring back keys or codes revoked since: refuse to roll back.
        print(
            f"kiosk keys import-trust: {args.file.name} is older than the installed trust store "
            f"(refreshed {current.refreshed_at.isoformat()})",
            file=sys.stderr,
        )
        return 2
    new.save(settings.data_dir / TRUST_STORE_FILE)
    print(
        f"trust store installed: {len(new.keys)} key(s), {len(new.revoked_kids) + len(new.revoked_codes)} "
        f"revocation(s), refreshed {new.refreshed_at.isoformat() if new.refreshed_at else 'never'}"
    )
    return 0
