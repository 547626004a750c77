"""Changes that did not reach mastery in one run reach it in the next."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import compute
from connector.sync.district import find_district
from tests.conftest import SampleDistrict, make_workspace, own_examples
from tests.integration.test_incremental import _record, _rewrite_result, _scored_result


def test_a_failed_mastery_step_is_caught_up_by_the_next_run(
        synced_district: SampleDistrict, monkeypatch: pytest.MonkeyPatch) -> None:
    factory, settings = synced_district.factory, synced_district.settings
    workspace = own_examples(synced_district.workspace)
    result, student = _scored_result()
    before = _record(factory, "CR.MA.RP.1.a", student)
    old = _rewrite_result(workspace, result)
    _rewrite_result(workspace, result, score="2" if float(old["score"]) >= 10 else "20")

    original = compute.recompute
    monkeypatch.setattr(compute, "recompute", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError("worker killed")))
    failed = definitions.run(factory, settings, "nightly-sync")
    assert failed.status == "failed"
    assert _record(factory, "CR.MA.RP.1.a", student).decisions == before.decisions

    monkeypatch.setattr(compute, "recompute", original)
    caught_up = definitions.run(factory, settings, "nightly-sync")
    assert caught_up.status != "failed"
    assert _record(factory, "CR.MA.RP.1.a", student).decisions != before.decisions
    assert definitions.run(factory, settings, "nightly-sync").changes == 0


def test_a_new_target_dok_recomputes_the_records_it_gates(
        synced_district: SampleDistrict) -> None:
    factory = synced_district.factory
    workspace = own_examples(synced_district.workspace)
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        proficient_before = session.scalar(
            select(m.MasteryRecord.id).join(m.Competency).where(
                m.Competency.human_coding_scheme == "CR.MA.RP.1.a",
                m.MasteryRecord.proficient.is_(True)).limit(1))
    assert proficient_before is not None

    # The district raises CR.MA.RP.1.a from DOK 1 to DOK 4: nothing in the sample reaches it.
    path = workspace / "examples" / "sample-district" / "case" / "cedar-ridge-math-ela.json"
    package = json.loads(path.read_text(encoding="utf-8"))
    dok = json.loads((path.parent / "webb-dok.json").read_text(encoding="utf-8"))
    dok4 = next(i["identifier"] for i in dok["CFItems"] if i["humanCodingScheme"] == "DOK-4")
    target = next(i["identifier"] for i in package["CFItems"]
                  if i["humanCodingScheme"] == "CR.MA.RP.1.a")
    for assoc in package["CFAssociations"]:
        if assoc["originNodeURI"]["identifier"] == target and \
                assoc["associationType"] == "hasSkillLevel":
            assoc["destinationNodeURI"]["identifier"] = dok4
    path.write_text(json.dumps(package), encoding="utf-8")
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")

    assert report.changes > 0 and report.mastery["updated"] > 0
    with tenant_session(factory, district) as session:
        still = session.scalars(select(m.MasteryRecord).join(m.Competency).where(
            m.Competency.human_coding_scheme == "CR.MA.RP.1.a",
            m.MasteryRecord.proficient.is_(True))).all()
    assert still == []


def test_framework_key_set_on_a_later_unchanged_import(
        tmp_path: Path, factory: sessionmaker[Session]) -> None:
    from click.testing import CliRunner

    from connector.cli.main import cli

    workspace = own_examples(make_workspace(tmp_path))
    engine_url = str(factory.kw["bind"].url.render_as_string(hide_password=False))
    habits = workspace / "examples" / "sample-district" / "case" / "cedar-ridge-habits.json"
    result = CliRunner().invoke(cli, ["--config-dir", str(workspace / "config"), "--database-url",
                                      engine_url, "framework", "import", str(habits),
                                      "--kind", "habits"])
    assert result.exit_code == 0, result.output
    definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        keys = set(session.scalars(select(m.Framework.key)))
    assert keys == {"dok", "math-ela", "high-school", "habits"}
