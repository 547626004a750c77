"""People who sign in: accounts, passwords, role grants and browser sessions.

Passwords are Argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended setting); an account without one signs in only by the district's
single sign-on. Every change to an account or its roles is an audit event, named
by the account's email (staff, not students) and never holding a hash.

A sign-in is a row holding the SHA-256 of a random id; the id itself lives only in
the person's signed cookie. A new row is made at every sign-in (the session id is
renewed, so a session fixed before sign-in is worthless), and disabling an account
or resetting its password deletes its rows: the person is signed out everywhere.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from connector.domain import roles
from connector.domain.roles import TEACHER, Grant, check_grant
from connector.errors import DataError, NotFoundError
from connector.persistence import models as m
from connector.persistence.models import utcnow
from connector.sync import audit

MIN_PASSWORD = 12
MAX_PASSWORD = 256
#: How long a browser session lasts from sign-in; the person signs in again after.
SESSION_HOURS = 12
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,63}$")
_hasher = PasswordHasher()
#: Verified against when no account matches, so an unknown email costs the same time.
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def normal_email(email: str) -> str:
    """The email as accounts are keyed: trimmed and lower case; DataError when it is not one."""
    value = email.strip().lower()
    if not _EMAIL.match(value):
        raise DataError(f"not an email address: {email[:80]!r}")
    return value


def hash_password(password: str, email: str = "") -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise DataError(f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if email and password.strip().lower() == email.lower():
        raise DataError("a password is not the account's email")
    return _hasher.hash(password)


def new_password() -> str:
    """A one-time password for a new or reset account: 20 characters, 120 bits."""
    return secrets.token_urlsafe(15)


def find_user(session: Session, email: str) -> m.User | None:
    try:
        key = normal_email(email)
    except DataError:
        return None
    return session.scalars(select(m.User).where(m.User.email == key)).first()


def _user(session: Session, email: str) -> m.User:
    user = find_user(session, email)
    if user is None:
        raise NotFoundError(f"no account {email[:80]!r} in this district")
    return user


def create_user(session: Session, email: str, *, name: str, by: str,
                password: str | None, roster_id: str = "",
                now: datetime | None = None) -> m.User:
    """A new active account with no roles yet; ``password`` None makes it sign-on only."""
    key = normal_email(email)
    if find_user(session, key) is not None:
        raise DataError(f"an account {key!r} already exists")
    now = now or utcnow()
    user = m.User(email=key, display_name=name.strip()[:200], roster_id=roster_id.strip(),
                  password_hash=hash_password(password, key) if password is not None else "",
                  password_changed_at=now if password is not None else None,
                  created_at=now, created_by=by[:255], active=True)
    session.add(user)
    session.flush()
    audit.record(session, at=now, actor=by, action="user.create", subject=f"user:{key}",
                 after={"email": key, "name": user.display_name, "roster_id": user.roster_id,
                        "password": password is not None})
    return user


def set_active(session: Session, email: str, active: bool, *, by: str, reason: str = "",
               now: datetime | None = None) -> m.User:
    """Enable or disable an account; disabling signs it out everywhere and stops its tokens."""
    user = _user(session, email)
    if user.active != active:
        audit.record(session, at=now, actor=by, action="user.enable" if active else "user.disable",
                     subject=f"user:{user.email}", reason=reason,
                     before={"active": user.active}, after={"active": active})
        user.active = active
        if not active:
            end_all(session, user.id)
    return user


def reset_password(session: Session, email: str, password: str, *, by: str,
                   now: datetime | None = None) -> m.User:
    """A new password; every session of the account ends."""
    user = _user(session, email)
    now = now or utcnow()
    user.password_hash = hash_password(password, user.email)
    user.password_changed_at = now
    end_all(session, user.id)
    audit.record(session, at=now, actor=by, action="user.reset_password",
                 subject=f"user:{user.email}", after={"password_changed_at": now.isoformat()})
    return user


def grants_of(session: Session, user_id: int) -> list[Grant]:
    return [Grant(role, school) for role, school in session.execute(
        select(m.RoleGrant.role, m.RoleGrant.school).where(m.RoleGrant.user_id == user_id)
        .order_by(m.RoleGrant.role, m.RoleGrant.school))]


def _described(grants: list[Grant]) -> list[str]:
    return [f"{g.role}:{g.school}" if g.school else g.role for g in grants]


def grant(session: Session, email: str, role: str, school: str = "", *, by: str,
          roster_id: str | None = None, now: datetime | None = None) -> m.User:
    """Give a role. School roles name a school of the roster; a teacher is a roster person.

    The teacher's classes are never listed here: they are the roster's teacher
    enrollments of the account's ``roster_id``, found by the account's email among the
    roster's staff when not given.
    """
    user = _user(session, email)
    try:
        given = check_grant(role, school.strip())
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if given.school and session.scalars(select(m.Organisation.id).where(
            m.Organisation.sourced_id == given.school)).first() is None:
        raise DataError(f"no school {given.school[:80]!r} in the district's roster")
    if given.role in (TEACHER, *roles.FAMILY_ROLES):
        _link_roster(session, user, roster_id, given.role)
    before = grants_of(session, user.id)
    if given in before:
        return user
    session.add(m.RoleGrant(user_id=user.id, role=given.role, school=given.school,
                            granted_at=now or utcnow(), granted_by=by[:255]))
    session.flush()
    audit.record(session, at=now, actor=by, action="role.grant", subject=f"user:{user.email}",
                 before={"roles": _described(before)},
                 after={"roles": _described(grants_of(session, user.id))})
    return user


#: OneRoster 1.2 roles of the people a guardian account may be (roleType values).
GUARDIAN_ROSTER_ROLES = ("guardian", "parent", "relative")


def _link_roster(session: Session, user: m.User, roster_id: str | None, role: str) -> None:
    """Tie the account to its roster person: a staff member, a student or a guardian.

    Given no roster id, the person whose roster email is the account's is taken,
    when exactly one is.
    """
    if role == roles.STUDENT:
        model: Any = m.Student
        where: list[Any] = []
        kind = "student"
    else:
        model, kind = m.Staff, "staff member" if role == TEACHER else "guardian"
        where = [m.Staff.role.in_(GUARDIAN_ROSTER_ROLES)] if role == roles.GUARDIAN else []
    if roster_id:
        found = session.scalars(select(model.sourced_id).where(
            model.sourced_id == roster_id, *where)).first()
        if found is None:
            raise DataError(f"no {kind} {roster_id[:80]!r} in the district's roster")
        user.roster_id = found
    elif not user.roster_id:
        matches = list(session.scalars(select(model.sourced_id).where(
            model.email.ilike(user.email), *where)).all())
        if len(matches) != 1:
            raise DataError(f"{'no' if not matches else 'more than one'} roster {kind} "
                            f"has the email {user.email!r}: give the {role}'s "
                            f"roster id (--roster-id)")
        user.roster_id = matches[0]


def revoke(session: Session, email: str, role: str, school: str = "", *, by: str,
           now: datetime | None = None) -> m.User:
    user = _user(session, email)
    before = grants_of(session, user.id)
    row = session.scalars(select(m.RoleGrant).where(
        m.RoleGrant.user_id == user.id, m.RoleGrant.role == role,
        m.RoleGrant.school == school.strip())).first()
    if row is None:
        raise NotFoundError(f"{user.email} does not hold {role}{':' + school if school else ''}")
    session.delete(row)
    session.flush()
    audit.record(session, at=now, actor=by, action="role.revoke", subject=f"user:{user.email}",
                 before={"roles": _described(before)},
                 after={"roles": _described(grants_of(session, user.id))})
    return user


def list_users(session: Session) -> list[dict[str, Any]]:
    users = session.scalars(select(m.User).order_by(m.User.email)).all()
    held: dict[int, list[Grant]] = {}
    for row in session.scalars(select(m.RoleGrant).order_by(m.RoleGrant.role,
                                                            m.RoleGrant.school)):
        held.setdefault(row.user_id, []).append(Grant(row.role, row.school))
    return [{"email": u.email, "name": u.display_name, "active": u.active,
             "roles": _described(held.get(u.id, [])), "roster_id": u.roster_id,
             "password": bool(u.password_hash), "created_at": u.created_at,
             "last_sign_in_at": u.last_sign_in_at} for u in users]


def teacher_classes(session: Session, roster_id: str) -> list[str]:
    """The classes the roster says this person teaches (its teacher enrollments)."""
    if not roster_id:
        return []
    return list(session.scalars(select(m.Enrollment.class_sourced_id).where(
        m.Enrollment.user_sourced_id == roster_id, m.Enrollment.role == "teacher").distinct()))


def linked_students(session: Session, roster_id: str, grants: Sequence[Grant]) -> list[str]:
    """The students a student or guardian account reaches, by the roster (SIS ids).

    A student account reaches the student its roster id names; a guardian account
    the students whose roster rows name it as an agent, or whom its own row names.
    Nobody else is linked by these roles.
    """
    held = {g.role for g in grants}
    if not roster_id or not held & roles.FAMILY_ROLES:
        return []
    found: set[str] = set()
    if roles.STUDENT in held:
        found.add(roster_id)
    if roles.GUARDIAN in held:
        agent = m.RosterAgent
        found.update(session.scalars(select(agent.person_sourced_id).where(
            agent.agent_sourced_id == roster_id)))
        found.update(session.scalars(select(agent.agent_sourced_id).where(
            agent.person_sourced_id == roster_id)))
    return sorted(session.scalars(select(m.Student.sourced_id).where(
        m.Student.sourced_id.in_(sorted(found))))) if found else []


# ---- signing in --------------------------------------------------------------------------


def authenticate(session: Session, email: str, password: str) -> m.User | None:
    """The active account these credentials open, or None (the same time either way)."""
    user = find_user(session, email)
    stored = user.password_hash if user is not None and user.password_hash else _DUMMY
    try:
        _hasher.verify(stored, password[:MAX_PASSWORD])
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active or stored is _DUMMY:
        return None
    if _hasher.check_needs_rehash(stored):  # the parameters were raised since
        user.password_hash = _hasher.hash(password)
    return user


@dataclass(frozen=True)
class Started:
    user_id: int
    session_id: str  # for the signed cookie only
    expires_at: datetime


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def start_sign_in(session: Session, user: m.User, *, method: str,
                  now: datetime | None = None) -> Started:
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=SESSION_HOURS)
    session.add(m.SignIn(user_id=user.id, session_hash=_digest(raw), method=method,
                         created_at=now, expires_at=expires))
    user.last_sign_in_at = now
    session.flush()
    return Started(user.id, raw, expires)


def signed_in(session: Session, session_id: str, now: datetime | None = None) -> m.User | None:
    """The active account of a live session id, or None."""
    if not session_id or len(session_id) > 100:
        return None
    row = session.scalars(select(m.SignIn).where(
        m.SignIn.session_hash == _digest(session_id))).first()
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    user = session.get(m.User, row.user_id)
    return user if user is not None and user.active else None


def end_sign_in(session: Session, session_id: str) -> None:
    session.execute(delete(m.SignIn).where(m.SignIn.session_hash == _digest(session_id)))


def end_all(session: Session, user_id: int) -> None:
    session.execute(delete(m.SignIn).where(m.SignIn.user_id == user_id))
