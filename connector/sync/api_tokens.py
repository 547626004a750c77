"""Machine tokens for the API: made once and shown once, kept as a hash, scoped, revocable.

A district's monitoring, its data warehouse or a provider's intake each get their
own token, so one can be revoked without touching the others, and a leaked one
says what it could do (its scopes) and until when. Tokens are 32 random bytes: a
SHA-256 of them is as good as a password hash against guessing, and lets a request
find its token with one indexed lookup. Making and revoking a token are audit
events; a token's use is logged by its id, never by its value.

Scopes: ``read`` (every read), ``write`` (reads and record changes such as
overrides), ``intake:<source>`` (post events as that learning-events source),
``admin`` (all of these). A service token acts over the whole district within its
scopes; a person's own token (``user``) acts with the person's roles, capped by its
scopes (:mod:`connector.domain.roles`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.errors import DataError, NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.sync import audit

#: Every token this server makes starts so: a scanner can spot one that leaked.
PREFIX = "cnk_"
SCOPES = ("read", "write", "admin")
_INTAKE = re.compile(r"^intake:[a-z0-9][a-z0-9_-]{0,63}$")
#: Record last use at most this often: a busy token is not a write per request.
TOUCH_EVERY = timedelta(minutes=5)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_scopes(scopes: list[str]) -> list[str]:
    """The scopes, each known, without repeats; DataError naming one that is not."""
    if not scopes:
        raise DataError("a token needs at least one scope: read, write, admin or "
                        "intake:<source>")
    for scope in scopes:
        if scope not in SCOPES and not _INTAKE.match(scope):
            raise DataError(f"unknown scope {scope[:40]!r}: read, write, admin or "
                            f"intake:<source>")
    return sorted(set(scopes))


def grants(scopes: list[str], needed: str) -> bool:
    """Whether ``scopes`` allow an action needing ``needed`` (read, write, intake:<s>).

    >>> grants(["write"], "read"), grants(["read"], "write"), grants(["admin"], "intake:tutor")
    (True, False, True)
    """
    if "admin" in scopes or needed in scopes:
        return True
    return needed == "read" and "write" in scopes


@dataclass(frozen=True)
class Made:
    id: int
    token: str  # shown once
    name: str
    scopes: list[str]
    expires_at: datetime | None


def make_token(session: Session, *, name: str, scopes: list[str], by: str,
               days: int | None, now: datetime | None = None,
               user: str | None = None) -> Made:
    """A new token, stored as its hash, with an audit event naming it by id.

    With ``user`` (an account's email) the token is that person's: it acts with the
    person's roles, capped by its scopes, and stops when the account is disabled.
    """
    name = name.strip()
    if not name or len(name) > 120:
        raise DataError("a token needs a name of 1 to 120 characters (what it is for)")
    if days is not None and not 1 <= days <= 3660:
        raise DataError("a token expires in 1 to 3660 days")
    scopes = check_scopes(scopes)
    owner = None
    if user is not None:
        owner = session.scalars(select(m.User).where(m.User.email == user.strip().lower())).first()
        if owner is None:
            raise NotFoundError(f"no account {user[:80]!r} in this district")
    now = now or utcnow()
    token = PREFIX + secrets.token_urlsafe(32)
    row = m.ApiToken(name=name, prefix=token[:12], token_hash=digest(token), scopes=scopes,
                     created_at=now, created_by=by[:255], user_id=owner.id if owner else None,
                     expires_at=now + timedelta(days=days) if days else None)
    session.add(row)
    session.flush()
    audit.record(session, at=now, actor=by, action="token.create", subject=f"token:{row.id}",
                 after={"name": name, "scopes": scopes, "user": owner.email if owner else None,
                        "expires_at": row.expires_at.isoformat() if row.expires_at else None})
    return Made(row.id, token, name, scopes, row.expires_at)


def revoke_token(session: Session, token_id: int, *, by: str, reason: str,
                 now: datetime | None = None) -> m.ApiToken:
    row = session.get(m.ApiToken, token_id)
    if row is None:
        raise NotFoundError(f"no token {token_id} in this district")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        audit.record(session, at=row.revoked_at, actor=by, action="token.revoke",
                     subject=f"token:{row.id}", reason=reason,
                     before={"name": row.name, "revoked": False}, after={"revoked": True})
    return row


def list_tokens(session: Session) -> list[dict[str, Any]]:
    rows = session.scalars(select(m.ApiToken).order_by(m.ApiToken.id)).all()
    owners = dict(session.execute(select(m.User.id, m.User.email)).all())
    return [{"id": r.id, "name": r.name, "prefix": r.prefix, "scopes": list(r.scopes),
             "user": owners.get(r.user_id) if r.user_id else None,
             "created_at": r.created_at, "created_by": r.created_by,
             "expires_at": r.expires_at, "revoked_at": r.revoked_at,
             "last_used_at": r.last_used_at} for r in rows]


def find_token(session: Session, token: str, now: datetime | None = None) -> m.ApiToken | None:
    """The live token this value is, in the session's district, or None.

    A revoked or expired token is None like an unknown one: the caller answers 401.
    """
    if not token.startswith(PREFIX) or len(token) > 100:
        return None
    row = session.scalars(select(m.ApiToken).where(
        m.ApiToken.token_hash == digest(token))).first()
    now = now or utcnow()
    if row is None or row.revoked_at is not None or (
            row.expires_at is not None and row.expires_at <= now):
        return None
    if row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY:
        row.last_used_at = now
    return row
