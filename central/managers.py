"""Manager accounts for the web dashboard. Managers are people, not kiosks: they sign in with a name and a
password (HTTP Basic), and only a slow scrypt hash of the password is stored, so a copy of the database does
not hand out passwords that a fast hash would give up to a guessing run."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from functools import cache

from sqlalchemy.orm import Session

from central.db import utcnow
from central.models import Manager

# Browsers disagree on how they encode non-ASCII Basic credentials, so names stay ASCII.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
# N=2^15, r=8: 32 MiB and about a tenth of a second per check. The parameters are stored with each hash,
# so raising them later only affects passwords set from then on.
_N, _R, _P = 2**15, 8, 1
_MAXMEM = 128 * 1024 * 1024


class ManagerError(ValueError):
    pass


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, _N, _R, _P)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(stored: str, password: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
        return hmac.compare_digest(actual, base64.b64decode(digest))
    except ValueError:
        return False


@cache
def decoy_hash() -> str:
    """A hash no password matches, checked for unknown names so that they take as long as known ones."""
    return hash_password(secrets.token_urlsafe(16))


def stored_hash(session: Session, name: str) -> str | None:
    """The account's password hash, read and let go at once: the slow check must hold no transaction."""
    manager = session.get(Manager, name) if NAME_PATTERN.match(name) else None
    session.rollback()
    return None if manager is None else manager.password_hash


def check_manager(session: Session, name: str, password: str) -> bool:
    stored = stored_hash(session, name)
    if stored is None:
        # Same work as for a real account, so the answer's timing does not tell which names exist.
        verify_password(decoy_hash(), password)
        return False
    return verify_password(stored, password)


def set_manager(session: Session, name: str, password: str) -> bool:
    """Create the account, or replace its password; True when it is new."""
    if not NAME_PATTERN.match(name):
        raise ManagerError("name: 1-64 ASCII letters, digits, '.', '_' or '-', not starting with a symbol")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ManagerError(f"password: at least {MIN_PASSWORD_LENGTH} characters")
    manager = session.get(Manager, name)
    created = manager is None
    if manager is None:
        session.add(Manager(name=name, password_hash=hash_password(password), created_at=utcnow()))
    else:
        manager.password_hash = hash_password(password)
    session.commit()
    return created


def remove_manager(session: Session, name: str) -> bool:
    manager = session.get(Manager, name)
    if manager is None:
        return False
    session.delete(manager)
    session.commit()
    return True
