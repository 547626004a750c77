"""The malformed-input corpus (tests/fixtures/malformed/): every file has the outcome stated for it.

Each file is a small input with one thing wrong, or one odd but valid thing; its
expected outcome was written down with it by ``generate.py`` from the specifications
and the product's rules. Roster files go through the OneRoster CSV source and staging
(record by record, as a refused batch is) on each store; xAPI statements and Caliper
envelopes go through the intake API on each store; CASE packages through the parser.
Across the corpus: 0 tracebacks, and 0 good rows lost.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from connector.adapters.base import AdapterContext, Envelope
from connector.adapters.sources.oneroster_csv import OneRosterCsvSource
from connector.config.loader import load_settings
from connector.errors import DataError, Rejection
from connector.frameworks.case_package import parse_package
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory, upgrade
from connector.persistence.tenancy import tenant_session
from connector.sync import runner
from connector.sync.district import ensure_district, find_district
from connector.sync.staging import StageResult
from tests.conftest import FIXTURES, ROOT, SampleDistrict
from tests.integration.test_event_intake import (  # noqa: F401  (fixtures used below)
    BASE,
    CALIPER,
    XAPI,
    client,
    district,
)

CORPUS = FIXTURES / "malformed"
MANIFEST = "propertyName,value\r\nmanifest.version,1.0\r\noneroster.version,1.2\r\nfile.users,bulk\r\n"


def _expected(folder: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / folder / "expected.json").read_text())
    return data


def test_the_corpus_has_at_least_200_files_each_with_an_outcome() -> None:
    files = [p for p in CORPUS.rglob("*") if p.is_file() and p.parent != CORPUS
             and p.name != "expected.json"]
    assert len(files) >= 200
    for path in files:
        assert path.name in _expected(path.parent.name), path


def test_roster_files_keep_every_good_row_and_reject_each_bad_one_where_it_is(
        db_url: str, tmp_path: Path) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    factory = make_session_factory(engine)
    settings = load_settings(ROOT / "config")
    district_id = ensure_district(factory, settings.district)
    problems = []
    for index, (name, want) in enumerate(sorted(_expected("oneroster-users").items())):
        key = f"c{index:03d}"
        bundle = tmp_path / key
        bundle.mkdir()
        (bundle / "manifest.csv").write_text(MANIFEST)
        (bundle / "users.csv").write_bytes((CORPUS / "oneroster-users" / name).read_bytes())
        source = OneRosterCsvSource(key, {"path": str(bundle), "encoding": "utf-8-sig"},
                                    AdapterContext(lambda p: Path(p), "America/Denver"))
        envelopes: list[Envelope] = []
        rejected: list[Rejection] = []
        for item in source.read():
            (rejected if isinstance(item, Rejection) else envelopes).append(item)  # type: ignore[arg-type]
        staged = runner._stage_each(factory, district_id, envelopes,
                                    lambda _s, _r: None) if envelopes else StageResult()
        rejected += staged.rejections
        with tenant_session(factory, district_id) as session:
            kept = sorted(session.scalars(select(m.Student.sourced_id).where(
                m.Student.source_system == key)))
        got = sorted([r.row, r.field] for r in rejected if r.file == "users.csv")
        if kept != sorted(want["kept"]) or got != sorted(want["rejected"]):
            problems.append((name, {"kept": kept, "rejected": got}, want))
    engine.dispose()
    assert problems == []


@pytest.mark.parametrize(("folder", "path", "headers"), [
    ("xapi", "xapi/statements", XAPI), ("caliper", "caliper", CALIPER)])
def test_statements_and_envelopes_are_stored_or_refused_at_their_path(
        client: FlaskClient, district: SampleDistrict, folder: str, path: str,  # noqa: F811
        headers: dict[str, str]) -> None:
    problems = []
    for name, want in sorted(_expected(folder).items()):
        body = (CORPUS / folder / name).read_bytes()
        with tenant_session(district.factory, _district_id(district)) as session:
            before = session.scalar(select(func.count()).select_from(m.LearningEvent)) or 0
        answer = client.post(f"{BASE}/{path}", data=body, headers=headers,
                             content_type="application/json")
        with tenant_session(district.factory, _district_id(district)) as session:
            after = session.scalar(select(func.count()).select_from(m.LearningEvent)) or 0
        said = answer.get_json(silent=True)
        message = said.get("message", "") if isinstance(said, dict) else ""
        if want["refused"]:
            ok = answer.status_code == 400 and after == before and (
                want["path"] == "body" or want["path"] in message)
        else:
            ok = answer.status_code == 200 and after == before + 1
        if not ok:
            problems.append((name, answer.status_code, message[:200], want))
    assert problems == []


def _district_id(sample: SampleDistrict) -> int:
    found = find_district(sample.factory, "cedar-ridge")
    assert found is not None
    return found


def test_case_packages_keep_every_good_item() -> None:
    problems = []
    for name, want in sorted(_expected("case").items()):
        text = (CORPUS / "case" / name).read_text(encoding="utf-8", errors="surrogatepass")
        try:
            parsed = parse_package(json.loads(text), name)
        except DataError:
            outcome = {"refused": True, "items": 0}
        else:
            outcome = {"refused": False, "items": len(parsed.items)}
        if outcome != want:
            problems.append((name, outcome, want))
    assert problems == []
