"""``connector framework import`` end to end, on a large synthetic CASE 1.1 package.

No large third-party CASE package is available under a usable licence
(/work/notes/case_research.md section 3), so the test builds one with the shapes
real providers emit: ~5,000 items in three levels, string and missing
sequenceNumbers, DOK items linked by isRelatedTo and hasSkillLevel, placeholder
destinations in other documents, and a few other association types. The
expected numbers are computed from how the package was built, not by counting
what the importer read.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from connector.cli.main import cli
from connector.persistence import models as m
from connector.persistence.db import make_engine, make_session_factory
from connector.persistence.tenancy import tenant_session
from connector.sync.district import find_district
from tests.conftest import FIXTURES

NAMESPACE = uuid.UUID("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b")
DOMAINS, COMPETENCIES_PER_DOMAIN, TARGETS_PER_COMPETENCY = 20, 10, 24
TARGETS = DOMAINS * COMPETENCIES_PER_DOMAIN * TARGETS_PER_COMPETENCY  # 4,800
BASE = "https://case.example.org/ims/case/v1p1"
STAMP = "2026-03-01T12:00:00+00:00"


def uid(name: str) -> str:
    return str(uuid.uuid5(NAMESPACE, name))


@dataclass
class Expected:
    """The true counts of the generated package, tallied while building it."""

    items: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    target_dok: dict[str, int] = field(default_factory=dict)

    @property
    def associations(self) -> int:
        return sum(self.by_type.values())


class SyntheticPackage:
    """Builds the package and its expected counts together."""

    def __init__(self) -> None:
        self.doc = uid("document")
        self.items: list[dict[str, Any]] = []
        self.associations: list[dict[str, Any]] = []
        self.expected = Expected()

    def item(self, key: str, statement: str, code: str, **extra: Any) -> str:
        identifier = uid(key)
        raw = {"identifier": identifier, "uri": f"{BASE}/CFItems/{identifier}",
               "fullStatement": statement, "humanCodingScheme": code,
               "lastChangeDateTime": STAMP, "CFDocumentURI": self.link(self.doc, "Synthetic")}
        raw.update(extra)
        self.items.append(raw)
        self.expected.items += 1
        return identifier

    def associate(self, origin: str, kind: str, destination: str, *,
                  title: str = "Destination Node", **extra: Any) -> None:
        identifier = uid(f"assoc-{len(self.associations)}")
        raw = {"identifier": identifier, "uri": f"{BASE}/CFAssociations/{identifier}",
               "associationType": kind, "originNodeURI": self.link(origin, "Origin"),
               "destinationNodeURI": self.link(destination, title), "lastChangeDateTime": STAMP}
        raw.update(extra)
        self.associations.append(raw)
        self.expected.by_type[kind] += 1

    @staticmethod
    def link(identifier: str, title: str) -> dict[str, str]:
        return {"identifier": identifier, "uri": f"local:{identifier}", "title": title}

    def as_json(self) -> dict[str, Any]:
        return {
            "CFDocument": {
                "identifier": self.doc, "uri": f"{BASE}/CFDocuments/{self.doc}",
                "creator": "Cedar Ridge School District (synthetic test data)",
                "title": "Cedar Ridge Synthetic Mathematics Framework",
                "lastChangeDateTime": STAMP, "caseVersion": "1.1",
                "frameworkType": "Competency Framework", "language": "en",
            },
            "CFItems": self.items,
            "CFAssociations": self.associations,
            "CFDefinitions": {"CFItemTypes": [], "CFSubjects": [], "CFConcepts": [],
                              "CFLicenses": [], "CFAssociationGroupings": []},
            "CFRubrics": [],
        }


def build_large_package() -> SyntheticPackage:
    pkg = SyntheticPackage()
    # A four-item DOK scale inside the same package, under a grouping item.
    scale = pkg.item("dok-group", "Depth of Knowledge", "DOK")
    pkg.associate(scale, "isChildOf", pkg.doc, title="Synthetic")
    names = ["Recall", "Skills and concepts", "Strategic thinking", "Extended thinking"]
    dok = {}
    for level, name in enumerate(names, 1):
        dok[level] = pkg.item(f"dok-{level}", f"Level {level}: {name}", f"DOK-{level}",
                              abbreviatedStatement=f"Level {level}")
        pkg.associate(dok[level], "isChildOf", scale, title="Depth of Knowledge", sequenceNumber=level)

    target_index = 0
    for d in range(1, DOMAINS + 1):
        domain = pkg.item(f"domain-{d}", f"Domain {d}", f"M.D{d}")
        pkg.associate(domain, "isChildOf", pkg.doc, title="Synthetic", sequenceNumber=d)
        previous: str | None = None
        for c in range(1, COMPETENCIES_PER_DOMAIN + 1):
            competency = pkg.item(f"comp-{d}-{c}", f"Competency {d}.{c}", f"M.D{d}.C{c}")
            # Some providers send sequenceNumber as a string.
            pkg.associate(competency, "isChildOf", domain, sequenceNumber=str(c))
            pkg.associate(competency, "exactMatchOf", f"ext-standard-{d}-{c}")  # outside any package
            if previous is not None:
                pkg.associate(previous, "precedes", competency)
            previous = competency
            for t in range(1, TARGETS_PER_COMPETENCY + 1):
                i = target_index
                target_index += 1
                code = f"M.D{d}.C{c}.T{t}"
                target = pkg.item(f"target-{i}", f"I can do target {code}", code,
                                  educationLevel="06,07")
                # Most real isChildOf lack sequenceNumber; give one to every third target.
                extra: dict[str, Any] = {"sequenceNumber": t} if t % 3 == 0 else {}
                pkg.associate(target, "isChildOf", competency, **extra)
                levels = []
                if i % 3 == 0:
                    level = (i // 3) % 4 + 1
                    pkg.associate(target, "isRelatedTo", dok[level])
                    levels.append(level)
                if i % 5 == 0:
                    level = (i // 5) % 4 + 1
                    pkg.associate(target, "hasSkillLevel", dok[level], title=f"DOK-{level}")
                    levels.append(level)
                if i % 24 == 1:
                    # A placeholder link into another document that says nothing about DOK.
                    pkg.associate(target, "isRelatedTo", uid(f"elsewhere-{i}"))
                if levels:
                    pkg.expected.target_dok[target] = max(levels)
    assert target_index == TARGETS
    return pkg


def invoke(workspace: Path, db_url: str, *args: str) -> Result:
    runner = CliRunner()
    return runner.invoke(cli, ["--config-dir", str(workspace / "config"), "--database-url", db_url,
                               "framework", "import", *args], catch_exceptions=False)


def test_large_case_1_1_package_reports_its_true_counts(
        workspace: Path, db_url: str, tmp_path: Path) -> None:
    pkg = build_large_package()
    path = tmp_path / "synthetic-case-1.1.json"
    path.write_text(json.dumps(pkg.as_json()), encoding="utf-8")
    expected = pkg.expected
    # Sanity of the generator itself: the shape the test claims to exercise.
    assert expected.items == 1 + 4 + DOMAINS * (1 + COMPETENCIES_PER_DOMAIN * (1 + TARGETS_PER_COMPETENCY))
    assert expected.by_type["isChildOf"] == expected.items
    assert len(expected.target_dok) == 2240  # i % 3 == 0 or i % 5 == 0 among 4,800 targets

    result = invoke(workspace, db_url, str(path), "--json")

    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["case_version"] == "1.1"
    assert summary["identifier"] == pkg.doc
    assert summary["items"] == expected.items == 5025
    assert summary["associations"] == expected.associations == 8165
    assert summary["associations_by_type"] == dict(expected.by_type) == {
        "isChildOf": 5025, "isRelatedTo": 1800, "hasSkillLevel": 960,
        "exactMatchOf": 200, "precedes": 180}
    assert summary["items_with_dok"] == len(expected.target_dok)
    assert summary["created"] == expected.items
    assert (summary["updated"], summary["deprecated"], summary["rejected"]) == (0, 0, [])
    assert summary["package_unchanged"] is False

    engine = make_engine(db_url)
    try:
        factory = make_session_factory(engine)
        district = find_district(factory, "cedar-ridge")
        assert district is not None
        with tenant_session(factory, district) as session:
            stored = dict(session.execute(select(m.Competency.identifier, m.Competency.target_dok)
                                          .where(m.Competency.target_dok.is_not(None))).all())
            depths = dict(session.execute(select(m.Competency.depth, func.count())
                                          .group_by(m.Competency.depth)).all())
    finally:
        engine.dispose()
    assert stored == expected.target_dok
    assert depths == {1: 1 + DOMAINS, 2: 4 + DOMAINS * COMPETENCIES_PER_DOMAIN, 3: TARGETS}

    again = invoke(workspace, db_url, str(path), "--json")

    assert again.exit_code == 0, again.output
    repeat = json.loads(again.stdout)
    assert repeat["package_unchanged"] is True
    assert (repeat["created"], repeat["updated"], repeat["unchanged"]) == (0, 0, expected.items)
    assert repeat["items_with_dok"] == len(expected.target_dok)


def test_table_output_for_the_ordering_framework(workspace: Path, db_url: str) -> None:
    result = invoke(workspace, db_url, str(FIXTURES / "case" / "opensalt-Ordering.json"))

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("ACT Holistic Framework, Math (a33fc64e-5c40-11e7-82c4-3d54268aa9ee), CASE 1.0")
    assert re.search(r"^items\s+28$", out, re.MULTILINE)
    assert re.search(r"^associations\s+28$", out, re.MULTILINE)
    assert re.search(r"^\s+isChildOf\s+28$", out, re.MULTILINE)
    assert re.search(r"^created\s+28$", out, re.MULTILINE)
    assert re.search(r"^rejected\s+0$", out, re.MULTILINE)


def test_a_framework_imported_without_a_key_is_named_after_its_title(
        workspace: Path, db_url: str) -> None:
    package = str(FIXTURES / "case" / "opensalt-Ordering.json")
    first = invoke(workspace, db_url, package, "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["key"] == "act-holistic-framework-math"
    again = invoke(workspace, db_url, package, "--json")
    assert json.loads(again.stdout)["key"] == "act-holistic-framework-math"
    renamed = invoke(workspace, db_url, package, "--key", "act-math", "--json")
    assert json.loads(renamed.stdout)["key"] == "act-math"
    table = invoke(workspace, db_url, package)
    assert re.search(r"^key\s+act-math$", table.stdout, re.MULTILINE)


def test_a_missing_package_file_exits_1_with_a_message(workspace: Path, db_url: str,
                                                        tmp_path: Path) -> None:
    result = invoke(workspace, db_url, str(tmp_path / "absent.json"), "--json")

    assert result.exit_code == 1
    assert "CASE package not found" in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize("damage", ["truncated", "not-a-package"])
def test_a_damaged_package_exits_1_and_names_the_problem(
        workspace: Path, db_url: str, tmp_path: Path, damage: str) -> None:
    path = tmp_path / f"{damage}.json"
    raw = (FIXTURES / "case" / "opensalt-Ordering.json").read_bytes()
    path.write_bytes(raw[:2000] if damage == "truncated" else b'{"lsDoc": {}, "lsItems": []}')

    result = invoke(workspace, db_url, str(path))

    assert result.exit_code == 1
    message = "is not valid JSON" if damage == "truncated" else "pre-1.0 OpenSALT draft"
    assert message in result.stderr
