"""Make sure the configured district exists in the store, with its current scale."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.model import DistrictConfig
from connector.domain.scale import ProficiencyScale
from connector.persistence import models as m
from connector.persistence.tenancy import admin_session, tenant_session


def ensure_district(factory: sessionmaker[Session], config: DistrictConfig) -> int:
    """The district's id, creating the tenant on first use; stores its scale version."""
    with admin_session(factory) as session, session.begin():
        district = session.scalars(select(m.District).where(m.District.key == config.key)).first()
        if district is None:
            district = m.District(key=config.key, name=config.name)
            session.add(district)
            session.flush()
        elif district.name != config.name:
            district.name = config.name
        district_id = district.id
    with tenant_session(factory, district_id) as session, session.begin():
        store_scale(session, config.scale)
    return district_id


def find_district(factory: sessionmaker[Session], key: str) -> int | None:
    with admin_session(factory) as session:
        return session.scalars(select(m.District.id).where(m.District.key == key)).first()


def store_scale(session: Session, scale: ProficiencyScale) -> None:
    """Keep each version of the scale: records computed under an old one stay readable."""
    row = session.scalars(select(m.ProficiencyScale).where(
        m.ProficiencyScale.key == scale.key, m.ProficiencyScale.version == scale.version)).first()
    if row is None:
        row = m.ProficiencyScale(key=scale.key, version=scale.version, name=scale.name,
                                 proficient_code=scale.proficient_code)
        session.add(row)
        session.flush()
    row.name, row.proficient_code = scale.name, scale.proficient_code
    row.state_labels = dict(scale.state_labels)
    levels = {lv.code: lv for lv in session.scalars(
        select(m.ScaleLevel).where(m.ScaleLevel.scale_id == row.id))}
    for position, level in enumerate(scale.levels):
        stored = levels.get(level.code) or m.ScaleLevel(scale_id=row.id, code=level.code)
        stored.label, stored.value = level.label, level.value
        stored.position, stored.description = position, level.description
        session.add(stored)
