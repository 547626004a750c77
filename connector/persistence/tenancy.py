"""The tenancy guard: every ORM query is scoped to the session's district.

Scoping by hand in each query is one forgotten ``where`` away from showing one
district another's students. Instead, a session is opened *for* a district and
an event hook adds ``district_id = :id`` to every SELECT, UPDATE and DELETE on
tenant tables, and refuses to flush a row that belongs to another district. A
session opened without a district may only touch the ``district`` table.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker, with_loader_criteria

from connector.errors import TenancyError
from connector.persistence.models import District, TenantMixin

_DISTRICT = "district_id"
_ADMIN = "admin"


def tenant_session(factory: sessionmaker[Session], district_id: int) -> Session:
    """A session that can only see and write ``district_id``'s rows."""
    session = factory()
    session.info[_DISTRICT] = district_id
    return session


def admin_session(factory: sessionmaker[Session]) -> Session:
    """A session for the ``district`` table alone (creating and listing tenants)."""
    session = factory()
    session.info[_ADMIN] = True
    return session


def session_district(session: Session) -> int:
    district_id = session.info.get(_DISTRICT)
    if district_id is None:
        raise TenancyError("this session is not opened for a district")
    return int(district_id)


def _touches_tenant_tables(state: ORMExecuteState) -> bool:
    return any(issubclass(mapper.class_, TenantMixin) for mapper in state.all_mappers)


@event.listens_for(Session, "do_orm_execute")
def _scope_to_district(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    district_id = state.session.info.get(_DISTRICT)
    if district_id is None:
        if _touches_tenant_tables(state):
            raise TenancyError("a query on district data ran in a session with no district")
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantMixin,
            lambda cls: cls.district_id == district_id,
            include_aliases=True,
        )
    )


@event.listens_for(Session, "before_flush")
def _stamp_and_check(session: Session, flush_context: Any, instances: Any) -> None:
    district_id = session.info.get(_DISTRICT)
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, District):
            if not session.info.get(_ADMIN):
                raise TenancyError("districts are created only through an admin session")
            continue
        if not isinstance(obj, TenantMixin):
            continue
        if district_id is None:
            raise TenancyError(f"cannot write {type(obj).__name__} without a district")
        current = getattr(obj, "district_id", None)
        if current is None:
            obj.district_id = district_id
        elif current != district_id:
            raise TenancyError(
                f"refusing to write a {type(obj).__name__} of district {current} "
                f"from a session of district {district_id}"
            )
