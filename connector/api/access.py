"""Who is asking, and may they: credentials to a principal, a principal to a yes, no or 404.

Three credentials reach the API:

- a signed-in person's browser session (:mod:`connector.api.signin`), acting with
  the person's role grants;
- a machine token (``cnk_...``): a service token acts over the whole district
  within its scopes; a person's own token acts with that person's grants, capped by
  its scopes;
- the district's environment-referenced shared tokens (deprecated, kept working):
  ``api_token`` is a read token, ``api_write_token`` a write token that also reads
  the audit.

Each operation declares the one permission it needs (``documented(need=...)``); the
principal has it or the answer is 403. Where records belong to schools and classes,
:func:`student_reach` and :func:`class_reach` hold the request to what the grants
reach: a teacher's students are those enrolled in the classes the roster says he
teaches. A person or token of another district gets 404, as if nothing were there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import abort, current_app, g, request
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import Session

from connector.api.store import open_district, resolved, same, store
from connector.config.model import Settings
from connector.domain import roles
from connector.domain.roles import Grant, Reach
from connector.persistence import models as m
from connector.sync import accounts, api_tokens

log = logging.getLogger(__name__)
NEED = "_connector_need"
View = TypeVar("View", bound=Callable[..., Any])
#: What a person or token needs no permission for: saying who it is.
ANYONE = "anyone"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
_SHARED_WRITE = roles.SCOPE_PERMISSIONS["write"] | {roles.AUDIT_READ}
_SHARED_READ = "district read token"


@dataclass
class Principal:
    """The one asking: a person (``grants``) or a service (``grants`` None), and its cap."""

    actor: str  # how the audit names it: user:<email>, token:<id>, a shared token
    ceiling: frozenset[str]
    grants: tuple[Grant, ...] | None = None
    roster_id: str = ""
    user_id: int | None = None
    _classes: list[str] | None = field(default=None, repr=False)
    _students: list[str] | None = field(default=None, repr=False)

    def allows(self, permission: str) -> bool:
        if permission == ANYONE:
            return True
        if permission not in self.ceiling:
            return False
        return self.grants is None or permission in roles.permissions(self.grants)

    def reach(self, session: Session, permission: str) -> Reach | None:
        if not self.allows(permission):
            return None
        if self.grants is None:
            return roles.EVERYTHING
        if self._classes is None:
            self._classes = accounts.teacher_classes(session, self.roster_id)
        if self._students is None:
            self._students = accounts.linked_students(session, self.roster_id, self.grants)
        return roles.reach(self.grants, permission, teacher_classes=self._classes,
                           linked_students=self._students)

    def as_dict(self, session: Session) -> dict[str, Any]:
        allowed = sorted(p for p in roles.PERMISSIONS if self.allows(p))
        if self._classes is None and self.grants is not None:
            self._classes = accounts.teacher_classes(session, self.roster_id)
        return {"actor": self.actor, "kind": "service" if self.grants is None else "person",
                "roles": [{"role": r.role, "school": r.school or None}
                          for r in (self.grants or ())],
                "permissions": allowed, "classes": sorted(self._classes or [])}


def needs(permission: str) -> Callable[[View], View]:
    """Mark a view with the permission it needs (``documented`` does this)."""
    def mark(view: View) -> View:
        setattr(view, NEED, permission)
        return view
    return mark


def district_session(key: str) -> tuple[Settings, Session]:
    """Authorise the request for district ``key``; a session scoped to that district.

    The permission is the one the view declared. 401 without a credential this
    district knows; 403 when it does not allow the operation; 404 for a person or a
    token of another district.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    need = getattr(view, NEED, None)
    if need is None:  # a programming error: every district operation declares one
        raise RuntimeError(f"{request.endpoint} declares no permission")
    settings = store().settings(key)
    given = bearer_token()
    if given:
        principal, session = _from_token(key, settings, given)
    elif current_user.is_authenticated:
        principal, session = _from_sign_in(key)
    else:
        abort(401, description="sign in, or send a bearer token (Authorization: Bearer ...)")
    if not principal.allows(need):
        abort(403, description=refusal(principal, need))
    g.connector_principal = principal
    return settings, session


@contextmanager
def change(session: Session) -> Iterator[None]:
    """The transaction of a view's change, after the checks that read to authorise it."""
    if session.in_transaction():
        session.commit()  # the checks only read: end their transaction
    with session.begin():
        yield


def refusal(who: Principal, need: str) -> str:
    """Why ``who`` may not do what needs ``need``, and what would allow it."""
    if need not in who.ceiling:
        scopes = [s for s, allowed in roles.SCOPE_PERMISSIONS.items() if need in allowed]
        hint = " (the district's write token has it)" if who.actor == _SHARED_READ else ""
        return f"{who.actor} may not do this: {need} needs the {' or '.join(scopes)} scope{hint}"
    holders = [r for r in roles.ROLES if need in roles.ROLE_PERMISSIONS[r]]
    return f"{who.actor} may not do this: {need} belongs to the roles {', '.join(holders)}"


def principal() -> Principal:
    found: Principal = g.connector_principal
    return found


def actor() -> str:
    return principal().actor


def bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def _from_token(key: str, settings: Settings, given: str) -> tuple[Principal, Session]:
    if given.startswith(api_tokens.PREFIX):
        return _machine(key, given)
    shared = {name: resolved(getattr(settings.district, name), purpose) for name, purpose in (
        ("api_token", "district API token"), ("api_write_token", "district API write token"))}
    if not any(shared.values()):
        enabled = settings.district.api_token or settings.district.api_write_token
        if enabled:
            abort(503, description="the district API token variables are not set on the "
                                   "server")
        abort(401, description="this district has no shared API token: use a machine token "
                               "(connector tokens create) or sign in")
    write, read = shared["api_write_token"], shared["api_token"]
    if write is not None and same(given, write):
        return Principal("district write token", _SHARED_WRITE), _session(key)
    if read is not None and same(given, read):
        return Principal(_SHARED_READ, roles.SCOPE_PERMISSIONS["read"]), _session(key)
    abort(401, description="missing or wrong bearer token")
    raise AssertionError("unreachable")


def _machine(key: str, given: str) -> tuple[Principal, Session]:
    """A machine token: 404 when it belongs to another district, 401 when it is not live."""
    home = _token_district(given)
    if home is None:
        abort(401, description="missing, wrong, revoked or expired bearer token")
    session = _session(key)
    if home != session.info.get("district_id"):
        abort(404, description=f"no district {key!r} for this token")
    token = api_tokens.find_token(session, given)
    if token is None:
        abort(401, description="missing, wrong, revoked or expired bearer token")
    ceiling = roles.scope_ceiling(map(str, token.scopes))
    found = Principal(f"token:{token.id}", ceiling)
    if token.user_id is not None:
        user = session.get(m.User, token.user_id)
        if user is None or not user.active:
            abort(401, description="this token's account is disabled")
        # The person is who acted; the log line below names the token they used.
        found = Principal(f"user:{user.email}", ceiling,
                          tuple(accounts.grants_of(session, user.id)), user.roster_id, user.id)
    log.info("api: %s %s by token %d", request.method, request.url_rule, token.id)
    if session.dirty:  # its last use, recorded now: the view may only read
        session.commit()
    return found, session


def _token_district(given: str) -> int | None:
    """The district a machine token was made in, whatever district the URL names."""
    table = m.ApiToken.__table__
    with store().engine.connect() as connection:
        found = connection.execute(select(table.c.district_id).where(
            table.c.token_hash == api_tokens.digest(given))).first()
    return None if found is None else int(found[0])


def _from_sign_in(key: str) -> tuple[Principal, Session]:
    person = current_user
    if person.district_key != key:
        abort(404, description=f"no district {key!r} for this account")
    if request.method not in _SAFE:
        from connector.api.signin import csrf  # a cookie alone must not change records

        csrf.protect()
    session = _session(key)
    user = session.get(m.User, person.user_id)
    if user is None or not user.active:
        abort(401, description="this account is disabled: sign in again")
    return Principal(f"user:{user.email}", roles.PERMISSIONS,
                     tuple(accounts.grants_of(session, user.id)), user.roster_id,
                     user.id), session


def _session(key: str) -> Session:
    return open_district(key, 404, f"district {key!r} has no data yet: run a sync first")


# ---- reach: which students and classes ---------------------------------------------------


def student_reach(session: Session, sis_id: str, permission: str) -> None:
    """403 unless the principal's ``permission`` reaches this student (404 when none)."""
    found = reach_of(session, permission)
    if found.everything:
        return
    student = session.scalars(select(m.Student.school_sourced_id).where(
        m.Student.sourced_id == sis_id)).first()
    if student is None:
        abort(404, description=f"no student {sis_id!r}")
    enrolled = session.execute(select(m.Enrollment.class_sourced_id,
                                      m.Enrollment.school_sourced_id).where(
        m.Enrollment.user_sourced_id == sis_id, m.Enrollment.role == "student")).all()
    schools = {student, *(school for _, school in enrolled)}
    if not found.student(schools, (c for c, _ in enrolled), sis_id):
        abort(403, description=f"student {sis_id!r} is not in the schools or classes "
                               f"{actor()} may see")


def class_reach(session: Session, class_id: str, permission: str) -> None:
    found = reach_of(session, permission)
    if found.everything:
        return
    school = session.scalars(select(m.ClassSection.school_sourced_id).where(
        m.ClassSection.sourced_id == class_id)).first()
    if school is None:
        abort(404, description=f"no class {class_id!r}")
    if not found.section(class_id, school):
        abort(403, description=f"class {class_id!r} is not one {actor()} may see")


def reach_of(session: Session, permission: str) -> Reach:
    found = principal().reach(session, permission)
    if found is None:
        abort(403, description=refusal(principal(), permission))
    return found


def rows_within_reach(session: Session, rows: list[dict[str, Any]], by: str,
                      permission: str) -> list[dict[str, Any]]:
    """Report rows keyed by school or class (``by``), only those the principal reaches."""
    reach = reach_of(session, permission)
    if reach.everything:
        return rows
    schools = dict(session.execute(select(m.ClassSection.sourced_id,
                                          m.ClassSection.school_sourced_id)).all())
    return [row for row in rows if (row[by] if by == "school" else schools.get(
        row[by], "")) in reach.schools or row[by] in reach.classes]
