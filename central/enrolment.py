"""Enrolment codes and the checkpoints a device is bound to.

A checkpoint id belongs to one site: the first code that names it claims it for its site, and a code for
another site naming it is refused. A device reports inspections only under the checkpoints its code named,
so a kiosk cannot add to another checkpoint's (or another site's) figures.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from central.auth import hash_secret, new_enrolment_code
from central.db import utcnow
from central.models import Device, EnrolmentCode

# The same rule as an inspection's checkpoint_id in the wire schema.
CHECKPOINT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


class EnrolmentError(ValueError):
    pass


def _owners(session: Session) -> dict[str, str]:
    """Checkpoint id -> the site that claimed it, from devices and from codes not yet used."""
    owners: dict[str, str] = {}
    for site, checkpoints in session.execute(select(Device.site, Device.checkpoints)):
        owners.update(dict.fromkeys(checkpoints or [], site))
    for site, checkpoints in session.execute(
        select(EnrolmentCode.site, EnrolmentCode.checkpoints).where(EnrolmentCode.used_at.is_(None))
    ):
        owners.update(dict.fromkeys(checkpoints or [], site))
    return owners


def _checked(session: Session, site: str, checkpoints: Iterable[str]) -> list[str]:
    wanted = sorted(set(checkpoints))
    bad = [c for c in wanted if not CHECKPOINT_PATTERN.match(c)]
    if bad:
        raise EnrolmentError(f"checkpoint ids are 1-64 letters, digits, '.', '_', ':' or '-': {bad[0]!r}")
    owners = _owners(session)
    taken = [c for c in wanted if owners.get(c, site) != site]
    if taken:
        raise EnrolmentError(f"checkpoint {taken[0]} belongs to site {owners[taken[0]]!r}")
    return wanted


def issue_code(
    session: Session, site: str, checkpoints: Iterable[str] = (), valid: timedelta = timedelta(hours=24)
) -> str:
    """A new one-time code for ``site``; the device it enrols may report under ``checkpoints``. Commits."""
    bound = _checked(session, site, checkpoints)
    code = new_enrolment_code()
    now = utcnow()
    session.add(
        EnrolmentCode(
            code_hash=hash_secret(code),
            site=site,
            created_at=now,
            expires_at=now + valid,
            checkpoints=bound,
        )
    )
    session.commit()
    return code


def bind_checkpoints(session: Session, device_id: str, checkpoints: Iterable[str]) -> None:
    """Replace the checkpoints a device may report under (a kiosk moved, or enrolled before binding)."""
    device = session.get(Device, device_id)
    if device is None:
        raise EnrolmentError(f"no device {device_id}")
    device.checkpoints = _checked(session, device.site, checkpoints)
    session.commit()
