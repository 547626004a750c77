"""Two districts in one database never see each other's data: queries, writes and the API."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.app import create_app
from connector.config.loader import load_settings
from connector.errors import TenancyError
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.persistence.tenancy import admin_session, tenant_session
from connector.sample.generator import generate
from connector.sync.district import find_district
from tests.conftest import SMALL_STUDENTS, make_workspace


@dataclass
class TwoDistricts:
    factory: sessionmaker[Session]
    config: Path
    db_url: str
    cedar: int
    pine: int


def _add_pine_valley(workspace: Path) -> None:
    """A second district with its own, smaller sample (different seed, 40 students)."""
    data = workspace / "pine-data"
    generate(data, students=40, seed=7)
    source = workspace / "config" / "districts" / "cedar-ridge"
    target = workspace / "config" / "districts" / "pine-valley"
    shutil.copytree(source, target)
    district = yaml.safe_load((target / "district.yaml").read_text())
    district["district"].update(key="pine-valley", name="Pine Valley Unified",
                                api_token="${PINE_VALLEY_API_TOKEN}")
    for fw in district["frameworks"]:
        fw["location"] = "pine-data/case/" + Path(fw["location"]).name
    (target / "district.yaml").write_text(yaml.safe_dump(district))
    sources = yaml.safe_load((target / "sources.yaml").read_text())
    sources["sources"][0]["path"] = "pine-data/oneroster"
    sources["sources"][1]["path"] = "pine-data/adaptive/practice-pal-skills.csv"
    sources["crosswalks"] = ["pine-data/crosswalk.csv"]
    sources["sources"].append({  # an xAPI provider only Pine Valley has
        "key": "tutor", "kind": "learning_events", "token": "${PINE_TUTOR_TOKEN}",
        "account_home_page": "https://sis.pine-valley.example",
        "evidence": {"evidence_type": "adaptive_practice", "dok": 1},
        "score_conversion": {"cuts": [{"min_percent": 0, "level": "1"}]}})
    (target / "sources.yaml").write_text(yaml.safe_dump(sources))


@pytest.fixture(scope="module")
def two(module_db_url: str, tmp_path_factory: pytest.TempPathFactory,
        small_sample: Path) -> Iterator[TwoDistricts]:
    """Cedar Ridge (the small sample, 24 students) and Pine Valley (40) in one store."""
    workspace = make_workspace(tmp_path_factory.mktemp("ws"), small_sample)
    _add_pine_valley(workspace)
    engine = make_engine(module_db_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    for key in ("cedar-ridge", "pine-valley"):
        report = definitions.run(factory, load_settings(workspace / "config", key), "nightly-sync")
        assert report.errors == []
    cedar, pine = find_district(factory, "cedar-ridge"), find_district(factory, "pine-valley")
    assert cedar is not None and pine is not None
    yield TwoDistricts(factory, workspace / "config", module_db_url, cedar, pine)
    engine.dispose()


def _count(factory: sessionmaker[Session], district: int, model: type) -> int:
    with tenant_session(factory, district) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_each_district_counts_only_its_own_rows(two: TwoDistricts) -> None:
    assert _count(two.factory, two.cedar, m.Student) == SMALL_STUDENTS
    assert _count(two.factory, two.pine, m.Student) == 40
    for model in (m.Competency, m.RawScore, m.Evidence, m.MasteryRecord, m.SyncRun,
                  m.PushLedger, m.Enrollment):
        cedar, pine = _count(two.factory, two.cedar, model), _count(two.factory, two.pine, model)
        with admin_session(two.factory) as session:
            total = session.scalar(select(func.count()).select_from(model).execution_options())
        assert cedar > 0 and pine > 0 and cedar + pine == total, model.__name__


def test_same_natural_keys_stay_apart(two: TwoDistricts) -> None:
    # Both samples use SIS ids S100001...; each district sees its own student.
    with tenant_session(two.factory, two.cedar) as cedar_session, \
            tenant_session(two.factory, two.pine) as pine_session:
        a = cedar_session.scalars(select(m.Student).where(m.Student.sourced_id == "S100001")).one()
        b = pine_session.scalars(select(m.Student).where(m.Student.sourced_id == "S100001")).one()
        assert a.id != b.id and a.district_id == two.cedar and b.district_id == two.pine
        # Even a primary-key lookup of the other district's row finds nothing.
        assert cedar_session.scalars(select(m.Student).where(m.Student.id == b.id)).first() is None
        joined = cedar_session.execute(
            select(m.MasteryRecord.id).join(m.Student, m.Student.id == m.MasteryRecord.student_id)
            .where(m.Student.id == b.id)).all()
        assert joined == []


def test_writes_across_districts_are_refused(two: TwoDistricts) -> None:
    with tenant_session(two.factory, two.cedar) as session:
        session.add(m.Category(district_id=two.pine, source_system="x", sourced_id="c1",
                               title="sneaky", content_hash="0"))
        with pytest.raises(TenancyError, match="refusing to write"):
            session.flush()
    with admin_session(two.factory) as session, pytest.raises(TenancyError, match="no district"):
        session.scalars(select(m.Student)).first()


@pytest.fixture
def client(two: TwoDistricts, monkeypatch: pytest.MonkeyPatch) -> Iterator[FlaskClient]:
    monkeypatch.setenv("CEDAR_RIDGE_API_TOKEN", "cedar-secret")
    monkeypatch.setenv("PINE_VALLEY_API_TOKEN", "pine-secret")
    monkeypatch.setenv("PINE_TUTOR_TOKEN", "pine-tutor-secret")
    app = create_app({"CONNECTOR_CONFIG_DIR": str(two.config), "CONNECTOR_DATABASE_URL": two.db_url})
    yield app.test_client()
    app.extensions["connector"].engine.dispose()


def test_api_token_of_one_district_cannot_read_the_other(client: FlaskClient) -> None:
    path = "/api/v1/districts/{}/students/S100001/mastery"
    ok = client.get(path.format("cedar-ridge"), headers={"Authorization": "Bearer cedar-secret"})
    assert ok.status_code == 200 and ok.json["records"]
    crossed = client.get(path.format("pine-valley"), headers={"Authorization": "Bearer cedar-secret"})
    assert crossed.status_code == 401
    none = client.get(path.format("pine-valley"))
    assert none.status_code == 401 and none.json["error"] == "Unauthorized"


def test_a_machine_token_of_one_district_finds_nothing_in_the_other(client: FlaskClient,
                                                                     two: TwoDistricts) -> None:
    from connector.sync.api_tokens import make_token

    with tenant_session(two.factory, two.cedar) as session, session.begin():
        made = make_token(session, name="Cedar warehouse", scopes=["admin"], by="it", days=None)
    path = "/api/v1/districts/{}/students/S100001/mastery"
    headers = {"Authorization": f"Bearer {made.token}"}
    assert client.get(path.format("cedar-ridge"), headers=headers).status_code == 200
    crossed = client.get(path.format("pine-valley"), headers=headers)
    # 404, as for any person of another district: nothing there for this credential.
    assert crossed.status_code == 404 and "records" not in (crossed.json or {})


def test_a_providers_token_posts_to_its_own_district_only(client: FlaskClient,
                                                        two: TwoDistricts) -> None:
    statement = {"actor": {"account": {"homePage": "https://sis.pine-valley.example",
                                       "name": "S100001"}},
                 "verb": {"id": "http://adlnet.gov/expapi/verbs/scored"},
                 "object": {"id": "https://tutor.example/activities/1"},
                 "result": {"score": {"scaled": 0.9}}}
    headers = {"Authorization": "Bearer pine-tutor-secret", "X-Experience-API-Version": "1.0.3"}
    crossed = client.post("/api/v1/districts/cedar-ridge/xapi/statements", json=statement,
                          headers=headers)
    assert crossed.status_code == 401
    own = client.post("/api/v1/districts/pine-valley/xapi/statements", json=statement,
                      headers=headers)
    assert own.status_code == 200
    assert _count(two.factory, two.cedar, m.LearningEvent) == 0
    assert _count(two.factory, two.pine, m.LearningEvent) == 1
