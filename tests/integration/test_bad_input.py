"""Bad input loses nothing: bad rows are rejected, good rows land, a failed batch leaves nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.cli.main import cli
from connector.config.loader import load_settings
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync import staging
from connector.sync.district import find_district
from connector.sync.runner import run_job
from tests.conftest import ROOT

HEADER = ("sourcedId,status,dateLastModified,lineItemSourcedId,studentSourcedId,scoreStatus,"
          "score,scoreDate,comment,textScore,classSourcedId,inProgress,incomplete,late,missing")


def _row(sid: str, student: str, score: str, item: str = "li-cls-crms-ma06-ma-01a") -> str:
    return f"{sid},,,{item},{student},fully graded,{score},2026-09-05,,,cls-crms-ma06,,,,"


def _workspace_with(tmp_path: Path, results: bytes) -> Path:
    """A workspace whose gradebook export has the given results.csv (and no adaptive source)."""
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "examples" / "sample-district" / "case", tmp_path / "case")
    export = tmp_path / "export"
    shutil.copytree(ROOT / "examples" / "sample-district" / "oneroster", export)
    (export / "results.csv").write_bytes(results)
    (export / "resultLearningObjectiveIds.csv").write_text(
        "sourcedId,status,dateLastModified,resultSourcedId,source,learningObjectiveId,score,"
        "textScore\r\n", encoding="utf-8")
    folder = tmp_path / "config" / "districts" / "cedar-ridge"
    district = yaml.safe_load((folder / "district.yaml").read_text())
    for fw in district["frameworks"]:
        fw["location"] = "case/" + Path(fw["location"]).name
    (folder / "district.yaml").write_text(yaml.safe_dump(district))
    sources = yaml.safe_load((folder / "sources.yaml").read_text())
    sources["sources"] = [s for s in sources["sources"] if s["key"] == "sis-gradebook"]
    sources["sources"][0]["path"] = "export"
    sources["crosswalks"] = []
    (folder / "sources.yaml").write_text(yaml.safe_dump(sources))
    jobs = yaml.safe_load((folder / "jobs.yaml").read_text())
    jobs["jobs"][0]["sources"] = ["sis-gradebook"]
    (folder / "jobs.yaml").write_text(yaml.safe_dump(jobs))
    return tmp_path


def _scores(factory: sessionmaker[Session]) -> list[str]:
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        return sorted(session.scalars(select(m.RawScore.sourced_id)))


def test_bad_rows_rejected_and_good_rows_processed(tmp_path: Path,
                                                   factory: sessionmaker[Session]) -> None:
    lines = [HEADER,
             _row("r1", "S100001", "8"),
             _row("r2", "S100001", "eight"),                            # non-numeric
             _row("r3", "S424242", "7"),                                # unknown student
             _row("r1", "S100001", "8"),                                # duplicate
             _row("r4", "S100003", "9", item="li-does-not-exist"),      # unknown line item
             _row("r5", "S100005", "10")]
    body = "\r\n".join(lines).encode() + b"\r\n" + _row("r6", "S100007", "9").encode()[:25]
    workspace = _workspace_with(tmp_path, body)
    settings = load_settings(workspace / "config")
    report = definitions.run(factory, settings, "nightly-sync")
    assert report.status == "succeeded_with_rejections"
    assert report.errors == []
    assert _scores(factory) == ["r1", "r5"]
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        rejected = {(r.row, r.field): r.reason for r in session.scalars(
            select(m.SyncRejection).where(m.SyncRejection.run_id == report.run_id))}
    assert set(rejected) == {(3, "score"), (4, "student"), (5, "sourcedId"),
                             (6, "lineItemSourcedId"), (8, "")}
    assert "S424242" in rejected[(4, "student")]
    again = definitions.run(factory, settings, "nightly-sync")
    assert again.changes == 0 and again.rejections == report.rejections


def test_failed_batch_leaves_nothing_half_written(tmp_path: Path, factory: sessionmaker[Session],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    lines = [HEADER] + [_row(f"r{n}", f"S1{n + 1:05d}", "8") for n in range(10)]
    workspace = _workspace_with(tmp_path, "\r\n".join(lines).encode())
    settings = load_settings(workspace / "config")
    original = staging._upsert

    def fail_on_scores(session, model, stream, rows, result):  # type: ignore[no-untyped-def]
        if model is m.RawScore:
            original(session, model, stream, rows[:3], result)  # part of the batch is written...
            raise RuntimeError("database went away")            # ...then the batch fails
        return original(session, model, stream, rows, result)

    monkeypatch.setattr(staging, "_upsert", fail_on_scores)
    report = run_job(factory, settings, "nightly-sync", batch_size=50)
    assert report.status == "failed"
    assert any("database went away" in e for e in report.errors)
    assert _scores(factory) == []  # the three rows written before the failure were rolled back
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        # earlier batches (the roster) stand; the failed batch's line items went with it
        assert session.scalar(select(func.count()).select_from(m.Student)) == 350
        assert session.scalar(select(func.count()).select_from(m.SourceItem)) < 618
        run = session.get(m.SyncRun, report.run_id)
        assert run is not None and run.status == "failed" and "database went away" in run.message


def test_cli_exit_codes(tmp_path: Path, db_url: str) -> None:
    workspace = _workspace_with(tmp_path, (HEADER + "\r\n" + _row("r1", "S100001", "x")).encode())
    runner = CliRunner()
    base = ["--config-dir", str(workspace / "config"), "--database-url", db_url]
    result = runner.invoke(cli, [*base, "sync", "run", "nightly-sync"])
    assert result.exit_code == 0, result.output  # rejected rows are not a failed run
    assert "succeeded_with_rejections" in result.output
    (workspace / "export" / "users.csv").unlink()
    shutil.rmtree(workspace / "export")
    result = runner.invoke(cli, [*base, "sync", "run", "nightly-sync"])
    assert result.exit_code == 1
    assert "bundle not found" in result.output
    result = runner.invoke(cli, [*base, "sync", "run", "no-such-job"])
    assert result.exit_code == 2 and "no job 'no-such-job'" in result.output
