"""Deleting a student, an item or a district takes its evidence with it (migration 0019).

Evidence names its student, item and district for the indexes it is read by, but its only
foreign keys are its raw score and its competency: the deletion reaches it through the
raw score. This is what keeps a purge or a district's removal from leaving evidence behind.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import Settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import admin_session, tenant_session
from connector.sync.district import find_district


def test_evidence_goes_with_its_student_item_and_district(
        settings: Settings, factory: sessionmaker[Session]) -> None:
    assert not definitions.run(factory, settings, "nightly-sync").errors
    district = find_district(factory, settings.district.key)
    assert district is not None

    def evidence(*where: object) -> int:
        with tenant_session(factory, district) as session:
            return int(session.scalar(select(func.count(m.Evidence.id)).where(*where)) or 0)

    with tenant_session(factory, district) as session:
        student, item = session.execute(
            select(m.Evidence.student_id, m.Evidence.source_item_id).limit(1)).one()
    total, of_student = evidence(), evidence(m.Evidence.student_id == student)
    assert 0 < of_student < total
    with tenant_session(factory, district) as session, session.begin():
        session.execute(delete(m.Student).where(m.Student.id == student))
    assert evidence(m.Evidence.student_id == student) == 0
    assert evidence() == total - of_student  # nobody else's

    of_item = evidence(m.Evidence.source_item_id == item)
    with tenant_session(factory, district) as session, session.begin():
        session.execute(delete(m.SourceItem).where(m.SourceItem.id == item))
    assert evidence(m.Evidence.source_item_id == item) == 0
    assert evidence() == total - of_student - of_item

    with admin_session(factory) as session, session.begin():
        session.execute(delete(m.District).where(m.District.id == district))
    with factory() as session:  # no district left to scope by: count the table itself
        assert session.scalar(select(func.count()).select_from(m.Evidence.__table__)) == 0
