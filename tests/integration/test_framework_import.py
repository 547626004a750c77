"""Importing CASE packages into a district's store, on SQLite and on PostgreSQL.

Covers storage and hierarchy, idempotent and changed re-imports, DOK read across
frameworks, tenancy, fetching from a CASE provider (the fake in tests/fakes) and
damaged files.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from connector.adapters.http.client import HttpClient, RetryPolicy
from connector.errors import DataError, FatalSourceError, RetriableSourceError
from connector.persistence import models as m
from connector.persistence.tenancy import admin_session, tenant_session
from connector.sync.framework_import import (
    FrameworkImportSummary,
    fetch_package,
    import_framework,
    refresh_target_dok,
)
from tests.conftest import FIXTURES
from tests.fakes.case_provider import FakeCaseProvider

ORDERING = FIXTURES / "case" / "opensalt-Ordering.json"
ORDERING_DOC = "a33fc64e-5c40-11e7-82c4-3d54268aa9ee"
L1 = "43bf51d6-3d92-4170-9531-df56731a1b6d"  # H.A.MATH.GM.PF.2DFP.L1, parent of 24 leaves
L1_24 = "253e6cad-1ea7-45b8-9bde-30d67e5c8071"  # its last child in natural order
L1_3 = "401e9d6d-1f89-443a-9cd2-845df6cc9815"

# Identifiers of the Smarter Balanced DOK framework (osu-cass/AP-CSE-API mockDOK.ts).
DOK_DOC = "b7bc9d8c-cb5f-4dc8-96da-13ce635053d1"
M_DOK = {
    1: "c938b823-f89c-49cf-9f69-810a78fbc7e0",
    2: "07a6fdcc-d644-4a3d-bd79-30167cb3879c",
    3: "b6ee7edb-baae-4aa7-a7d2-bbf36ab81e42",
    4: "b3f583a0-3bff-4e4a-8141-8c48442073fe",
}
CONTENT_DOC = "255adad7-2854-47d7-9aa4-c5e1750eb8ca"
NOT_DOK_DOC_ITEM = "e1f96986-bb26-11e7-8a4e-0242ac110002"  # an external, non-DOK destination
CONTENT_TARGETS = {code: f"c1000000-0000-4000-8000-00000000000{n}"
                   for n, code in enumerate(["M.G3.C1OA.TA", "M.G3.C1OA.TB", "M.G3.C1OA.TC",
                                             "M.G3.C1OA.TD"], 1)}


# ---- helpers -------------------------------------------------------------------------------


def make_district(factory: sessionmaker[Session], key: str) -> int:
    with admin_session(factory) as session, session.begin():
        district = m.District(key=key, name=f"District {key}")
        session.add(district)
        session.flush()
        return district.id


@pytest.fixture
def district(factory: sessionmaker[Session]) -> int:
    return make_district(factory, "cedar-ridge")


def import_bytes(factory: sessionmaker[Session], district_id: int, raw: bytes, *,
                 location: str = "package.json", kind: str = "academic") -> FrameworkImportSummary:
    data = json.loads(raw.decode("utf-8-sig"))
    with tenant_session(factory, district_id) as session, session.begin():
        return import_framework(session, data, raw, location=location, kind=kind)


def import_file(factory: sessionmaker[Session], district_id: int, path: Path,
                kind: str = "academic") -> FrameworkImportSummary:
    data, raw = fetch_package(str(path))
    with tenant_session(factory, district_id) as session, session.begin():
        return import_framework(session, data, raw, location=str(path), kind=kind)


def dumps(package: dict[str, Any]) -> bytes:
    return json.dumps(package, indent=1, ensure_ascii=False).encode("utf-8")


def count(factory: sessionmaker[Session], district_id: int, model: type, *where: Any) -> int:
    with tenant_session(factory, district_id) as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def competencies(factory: sessionmaker[Session], district_id: int) -> dict[str, m.Competency]:
    with tenant_session(factory, district_id) as session:
        return {c.identifier: c for c in session.scalars(select(m.Competency))}


def node(identifier: str, title: str = "Destination Node") -> dict[str, str]:
    return {"identifier": identifier, "uri": f"local:{identifier}", "title": title}


def cf_item(identifier: str, statement: str, code: str = "", **extra: Any) -> dict[str, Any]:
    raw = {"identifier": identifier, "uri": f"https://case.example/CFItems/{identifier}",
           "fullStatement": statement, "humanCodingScheme": code,
           "lastChangeDateTime": "2024-05-01T00:00:00+00:00"}
    raw.update(extra)
    return raw


def cf_assoc(identifier: str, origin: str, kind: str, destination: str,
             title: str = "Destination Node") -> dict[str, Any]:
    return {"identifier": identifier, "uri": f"https://case.example/CFAssociations/{identifier}",
            "associationType": kind, "originNodeURI": node(origin, "Origin"),
            "destinationNodeURI": node(destination, title),
            "lastChangeDateTime": "2024-05-01T00:00:00+00:00"}


def cf_package(doc_id: str, title: str, items: list[dict[str, Any]],
               associations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "CFDocument": {"identifier": doc_id, "uri": f"https://case.example/CFDocuments/{doc_id}",
                       "title": title, "creator": "Test", "lastChangeDateTime": "2024-05-01T00:00:00Z"},
        "CFItems": items,
        "CFAssociations": associations,
        "CFDefinitions": {"CFItemTypes": []},
    }


def dok_framework() -> dict[str, Any]:
    """A copy of the shape of Smarter Balanced's separate DOK framework (math branch)."""
    group = "3e84e736-0000-4000-8000-000000000001"
    items = [cf_item(group, "Math", "")]
    associations = [cf_assoc("dd000000-0000-4000-8000-000000000000", group, "isChildOf", DOK_DOC)]
    names = {1: "Recall and Reproduction", 2: "Skills and Concepts", 3: "Strategic Thinking",
             4: "Extended Thinking"}
    for level, identifier in M_DOK.items():
        items.append(cf_item(identifier, f"Long description of level {level}", f"M-DOK{level}",
                             abbreviatedStatement=f"Level {level}: {names[level]}"))
        associations.append(cf_assoc(f"dd000000-0000-4000-8000-00000000000{level}", identifier,
                                     "isChildOf", group))
    return cf_package(DOK_DOC, "Norm Webb's Depth of Knowledge [DOK] Levels of Cognitive Difficulty",
                      items, associations)


def content_framework() -> dict[str, Any]:
    """Targets linked isRelatedTo to the DOK framework's items by identifier only."""
    claim = "c1000000-0000-4000-8000-000000000000"
    targets = CONTENT_TARGETS
    items = [cf_item(claim, "Concepts and Procedures", "M.G3.C1")]
    items += [cf_item(identifier, f"Target {code}", code) for code, identifier in targets.items()]
    associations = [cf_assoc("ca000000-0000-4000-8000-000000000000", claim, "isChildOf", CONTENT_DOC)]
    associations += [cf_assoc(f"ca000000-0000-4000-8000-0000000000{n:02d}", identifier, "isChildOf", claim)
                     for n, identifier in enumerate(targets.values(), 1)]
    related = [("M.G3.C1OA.TA", M_DOK[2]), ("M.G3.C1OA.TB", M_DOK[1]), ("M.G3.C1OA.TB", M_DOK[3]),
               ("M.G3.C1OA.TC", NOT_DOK_DOC_ITEM)]
    associations += [cf_assoc(f"cb000000-0000-4000-8000-0000000000{n:02d}", targets[code],
                              "isRelatedTo", destination)
                     for n, (code, destination) in enumerate(related, 1)]
    return cf_package(CONTENT_DOC, "Smarter Balanced Math Content Specification (test copy)",
                      items, associations)



# ---- storing one framework -----------------------------------------------------------------


def test_import_ordering_stores_items_associations_and_hierarchy(
        factory: sessionmaker[Session], district: int) -> None:
    summary = import_file(factory, district, ORDERING)

    assert (summary.identifier, summary.title, summary.case_version) == (
        ORDERING_DOC, "ACT Holistic Framework, Math", "1.0")
    assert (summary.items, summary.associations, summary.created) == (28, 28, 28)
    assert summary.associations_by_type == {"isChildOf": 28}
    assert (summary.updated, summary.deprecated, summary.items_with_dok) == (0, 0, 0)
    assert summary.rejected == [] and summary.package_unchanged is False
    assert count(factory, district, m.Framework) == 1
    assert count(factory, district, m.Competency) == 28
    assert count(factory, district, m.CompetencyAssociation,
                 m.CompetencyAssociation.association_type == "isChildOf") == 28
    with tenant_session(factory, district) as session:
        framework = session.scalars(select(m.Framework)).one()
        assert (framework.identifier, framework.kind) == (ORDERING_DOC, "academic")
        depth_counts = dict(session.execute(
            select(m.Competency.depth, func.count()).group_by(m.Competency.depth)).all())
        top = session.scalars(select(m.Competency).where(m.Competency.depth == 1)).all()
        leaves = session.scalars(select(m.Competency).where(m.Competency.parent_identifier == L1)
                                 .order_by(m.Competency.sequence)).all()
    assert depth_counts == {1: 1, 2: 1, 3: 1, 4: 1, 5: 24}
    assert [(c.human_coding_scheme, c.parent_identifier, c.sequence) for c in top] == [
        ("H.A.MATH.GM", None, 1)]
    assert {c.root_identifier for c in leaves} == {top[0].identifier}
    assert [c.human_coding_scheme for c in leaves] == [
        f"H.A.MATH.GM.PF.2DFP.L1.{n}" for n in range(1, 25)]
    assert [c.sequence for c in leaves] == list(range(1, 25))


def test_reimport_of_the_same_bytes_changes_nothing(
        factory: sessionmaker[Session], district: int) -> None:
    import_file(factory, district, ORDERING)

    again = import_file(factory, district, ORDERING)

    assert again.package_unchanged is True
    assert (again.created, again.updated, again.deprecated, again.unchanged) == (0, 0, 0, 28)
    assert count(factory, district, m.Competency) == 28
    assert count(factory, district, m.CompetencyAssociation) == 28
    assert count(factory, district, m.Framework) == 1


def modified_ordering() -> dict[str, Any]:
    """One statement changed, the last leaf removed, a new last leaf added."""
    package: dict[str, Any] = json.loads(ORDERING.read_text("utf-8"))
    for raw in package["CFItems"]:
        if raw["identifier"] == L1_3:
            raw["fullStatement"] = "Describe basic shapes, revised in 2026"
    package["CFItems"] = [i for i in package["CFItems"] if i["identifier"] != L1_24]
    package["CFAssociations"] = [a for a in package["CFAssociations"]
                                 if a["originNodeURI"]["identifier"] != L1_24]
    new = "9e0a7c55-6f1e-4b7e-9a61-2f3c4d5e6f70"
    package["CFItems"].append(cf_item(new, "Compose 2-D shapes from others",
                                      "H.A.MATH.GM.PF.2DFP.L1.25"))
    package["CFAssociations"].append(cf_assoc("9e0a7c55-0000-4b7e-9a61-2f3c4d5e6f70", new,
                                              "isChildOf", L1))
    return package


def test_reimport_of_a_changed_package_updates_creates_and_deprecates(
        factory: sessionmaker[Session], district: int) -> None:
    import_file(factory, district, ORDERING)

    summary = import_bytes(factory, district, dumps(modified_ordering()))

    assert summary.package_unchanged is False
    assert (summary.updated, summary.created, summary.deprecated, summary.unchanged) == (1, 1, 1, 26)
    assert count(factory, district, m.Competency) == 29
    stored = competencies(factory, district)
    assert stored[L1_24].deprecated is True
    assert stored[L1_24].human_coding_scheme == "H.A.MATH.GM.PF.2DFP.L1.24"
    assert stored[L1_3].full_statement == "Describe basic shapes, revised in 2026"
    assert stored[L1_3].deprecated is False
    assert stored["9e0a7c55-6f1e-4b7e-9a61-2f3c4d5e6f70"].sequence == 24
    assert count(factory, district, m.Competency, m.Competency.deprecated.is_(True)) == 1
    assert count(factory, district, m.CompetencyAssociation,
                 m.CompetencyAssociation.deprecated.is_(True)) == 1
    assert count(factory, district, m.CompetencyAssociation) == 29


def test_an_item_that_comes_back_is_no_longer_deprecated(
        factory: sessionmaker[Session], district: int) -> None:
    import_file(factory, district, ORDERING)
    without_last = json.loads(ORDERING.read_text("utf-8"))
    without_last["CFItems"] = [i for i in without_last["CFItems"] if i["identifier"] != L1_24]
    import_bytes(factory, district, dumps(without_last))
    assert competencies(factory, district)[L1_24].deprecated is True

    back = import_file(factory, district, ORDERING)

    assert back.package_unchanged is False
    assert competencies(factory, district)[L1_24].deprecated is False


def test_a_second_framework_sharing_item_identifiers_does_not_empty_the_first(
        factory: sessionmaker[Session], district: int) -> None:
    import_file(factory, district, ORDERING)
    copy_doc = "11111111-5c40-11e7-82c4-3d54268aa9ee"
    republished = json.loads(ORDERING.read_text("utf-8"))
    republished["CFDocument"].update(identifier=copy_doc, title="ACT Holistic Framework, Math (copy)")
    for raw in republished["CFAssociations"]:
        if raw["destinationNodeURI"]["identifier"] == ORDERING_DOC:
            raw["destinationNodeURI"]["identifier"] = copy_doc
    import_bytes(factory, district, dumps(republished))

    import_file(factory, district, ORDERING)

    with tenant_session(factory, district) as session:
        original = session.scalars(select(m.Framework.id).where(
            m.Framework.identifier == ORDERING_DOC)).one()
        held = session.scalar(select(func.count()).select_from(m.Competency).where(
            m.Competency.framework_id == original))
    assert held == 28


# ---- depth of knowledge --------------------------------------------------------------------


def test_dok_framework_imported_after_the_content_gives_it_target_dok(
        factory: sessionmaker[Session], district: int) -> None:
    content_raw = dumps(content_framework())
    content = import_bytes(factory, district, content_raw, location="content.json")
    assert content.associations_by_type == {"isChildOf": 5, "isRelatedTo": 4}
    assert content.items_with_dok == 0
    assert all(c.target_dok is None for c in competencies(factory, district).values())

    dok = import_bytes(factory, district, dumps(dok_framework()), location="dok.json", kind="reference")

    assert dok.kind == "reference" and dok.items == 5
    assert dok.items_with_dok == 0  # the DOK framework's own items have no target DOK
    stored = competencies(factory, district)
    assert {code: stored[ident].target_dok for code, ident in CONTENT_TARGETS.items()} == {
        "M.G3.C1OA.TA": 2, "M.G3.C1OA.TB": 3, "M.G3.C1OA.TC": None, "M.G3.C1OA.TD": None}
    with tenant_session(factory, district) as session:
        kinds = dict(session.execute(select(m.Framework.identifier, m.Framework.kind)).all())
    assert kinds == {CONTENT_DOC: "academic", DOK_DOC: "reference"}
    # The unchanged content package now reports its DOK from the store.
    again = import_bytes(factory, district, content_raw, location="content.json")
    assert again.package_unchanged is True
    assert again.items_with_dok == 2


def test_refresh_target_dok_repairs_stale_values_and_is_idempotent(
        factory: sessionmaker[Session], district: int) -> None:
    import_bytes(factory, district, dumps(content_framework()))
    import_bytes(factory, district, dumps(dok_framework()), kind="reference")
    target = CONTENT_TARGETS["M.G3.C1OA.TA"]
    untouched = CONTENT_TARGETS["M.G3.C1OA.TD"]

    with tenant_session(factory, district) as session, session.begin():
        assert refresh_target_dok(session, ()) == []
        for identifier in (target, untouched):
            session.scalars(select(m.Competency).where(
                m.Competency.identifier == identifier)).one().target_dok = 4
    with tenant_session(factory, district) as session, session.begin():
        changed = refresh_target_dok(session, ())

    assert changed == sorted([target, untouched])
    stored = competencies(factory, district)
    assert (stored[target].target_dok, stored[untouched].target_dok) == (2, None)


def test_has_skill_level_within_one_package(factory: sessionmaker[Session], district: int) -> None:
    doc = "5c000000-0000-4000-8000-000000000000"
    levels = {n: f"5c000000-0000-4000-8000-00000000010{n}" for n in range(1, 5)}
    items = [cf_item("5c000000-0000-4000-8000-0000000000a1", "Ratios", "6.RP.A.1"),
             cf_item("5c000000-0000-4000-8000-0000000000a2", "Unit rates", "6.RP.A.2"),
             cf_item("5c000000-0000-4000-8000-0000000000a3", "Percents", "6.RP.A.3")]
    items += [cf_item(ident, f"Level {n}", f"SL{n}", CFItemType="Skill Level")
              for n, ident in levels.items()]
    associations = [cf_assoc(f"5c000000-0000-4000-8000-0000000002{n:02d}", item["identifier"],
                             "isChildOf", doc) for n, item in enumerate(items)]
    associations += [
        cf_assoc("5c000000-0000-4000-8000-000000000301", items[0]["identifier"], "hasSkillLevel",
                 levels[2], "Level 2"),
        cf_assoc("5c000000-0000-4000-8000-000000000302", items[1]["identifier"], "hasSkillLevel",
                 levels[4], "Level 4"),
        # "Level 3" in a framework that says nothing about DOK is not a DOK under isRelatedTo.
        cf_assoc("5c000000-0000-4000-8000-000000000303", items[2]["identifier"], "isRelatedTo",
                 levels[3], "Level 3"),
    ]

    summary = import_bytes(factory, district, dumps(cf_package(doc, "Grade 6 Ratios", items,
                                                               associations)))

    assert summary.associations_by_type == {"hasSkillLevel": 2, "isChildOf": 7, "isRelatedTo": 1}
    assert summary.items_with_dok == 2
    stored = competencies(factory, district)
    assert [stored[i["identifier"]].target_dok for i in items[:3]] == [2, 4, None]
    assert all(stored[ident].target_dok is None for ident in levels.values())


# ---- tenancy -------------------------------------------------------------------------------


def test_each_district_sees_only_its_own_frameworks(factory: sessionmaker[Session]) -> None:
    district_a = make_district(factory, "district-a")
    district_b = make_district(factory, "district-b")
    ordering = ORDERING.read_bytes()
    smart_level = (FIXTURES / "case" / "opensalt-SmartLevelFramework.json").read_bytes()

    import_bytes(factory, district_a, ordering)
    import_bytes(factory, district_a, dumps(content_framework()))
    import_bytes(factory, district_a, dumps(dok_framework()), kind="reference")
    import_bytes(factory, district_b, ordering)
    b_content = import_bytes(factory, district_b, dumps(content_framework()))
    import_bytes(factory, district_b, smart_level)

    assert b_content.created == 5  # district A's copies are not B's
    assert count(factory, district_a, m.Framework) == 3
    assert count(factory, district_b, m.Framework) == 3
    assert count(factory, district_a, m.Competency) == 28 + 5 + 5
    assert count(factory, district_b, m.Competency) == 28 + 5 + 14
    assert count(factory, district_a, m.CompetencyAssociation) == 28 + 9 + 5
    assert count(factory, district_b, m.CompetencyAssociation) == 28 + 9 + 14
    # Only district A holds the DOK framework, so only A's targets have a DOK.
    target = CONTENT_TARGETS["M.G3.C1OA.TA"]
    assert competencies(factory, district_a)[target].target_dok == 2
    assert competencies(factory, district_b)[target].target_dok is None

    with tenant_session(factory, district_b) as session:
        smart_ids = [c.id for c in session.scalars(select(m.Competency).where(
            m.Competency.identifier.like("00000000-0000-0000-0000-%")))]
    assert len(smart_ids) == 14
    with tenant_session(factory, district_a) as session:
        rows = session.scalars(select(m.Competency)).all()
        assert {row.district_id for row in rows} == {district_a}
        assert session.scalars(select(m.Competency).where(m.Competency.id.in_(smart_ids))).all() == []
        assert session.get(m.Competency, smart_ids[0]) is None
        same_item = session.scalars(select(m.Competency).where(
            m.Competency.identifier == L1_3)).all()
        assert [c.district_id for c in same_item] == [district_a]


# ---- fetching from a CASE provider ---------------------------------------------------------


@pytest.fixture
def ordering_package() -> dict[str, Any]:
    package: dict[str, Any] = json.loads(ORDERING.read_text("utf-8"))
    return package


@pytest.fixture
def quiet_client() -> Iterator[tuple[HttpClient, list[float]]]:
    """A client that records its back-off sleeps instead of sleeping."""
    sleeps: list[float] = []
    client = HttpClient("CASE provider", sleep=sleeps.append)
    yield client, sleeps
    client.session.close()


def test_the_fake_provider_answers_like_the_case_binding(ordering_package: dict[str, Any]) -> None:
    def minor(body: dict[str, Any]) -> tuple[str, str]:
        field = body["imsx_codeMinor"]["imsx_codeMinorField"][0]
        return field["imsx_codeMinorFieldName"], field["imsx_codeMinorFieldValue"]

    with FakeCaseProvider({ORDERING_DOC: ordering_package}, token="t", busy_responses=1) as provider:
        busy = requests.get(provider.url_for(ORDERING_DOC), timeout=5)
        refused_v1p0 = requests.get(provider.url_for(ORDERING_DOC, "v1p0"), timeout=5)
        refused_v1p1 = requests.get(provider.url_for(ORDERING_DOC, "v1p1"), timeout=5)
        unknown = requests.get(provider.url_for("nope"), headers={"Authorization": "Bearer t"},
                               timeout=5)
        found = requests.get(provider.url_for(ORDERING_DOC), headers={"Authorization": "Bearer t"},
                             timeout=5)

    assert (busy.status_code, busy.headers["Retry-After"]) == (429, "0")
    assert minor(busy.json()) == ("TargetEndSystem", "server_busy")
    assert minor(refused_v1p0.json())[1] == "unauthorisedrequest"
    assert minor(refused_v1p1.json())[1] == "unauthorised_request"
    assert unknown.status_code == 404
    body = unknown.json()
    assert (body["imsx_codeMajor"], body["imsx_severity"]) == ("failure", "error")
    assert minor(body) == ("sourcedId", "unknownobject")
    assert found.headers["Content-Type"] == "application/json"
    assert found.json() == ordering_package
    assert [(r.status, r.authorized) for r in provider.requests] == [
        (429, False), (401, False), (401, False), (404, True), (200, True)]


def test_url_import_with_a_bearer_token(factory: sessionmaker[Session], district: int,
                                        ordering_package: dict[str, Any]) -> None:
    with FakeCaseProvider({ORDERING_DOC: ordering_package}, token="s3cret-t0ken") as provider:
        url = provider.url_for(ORDERING_DOC, "v1p0")
        data, raw = fetch_package(url, token="s3cret-t0ken")

    assert data == ordering_package
    assert [(r.method, r.path, r.authorized, r.status) for r in provider.requests] == [
        ("GET", f"/ims/case/v1p0/CFPackages/{ORDERING_DOC}", True, 200)]
    with tenant_session(factory, district) as session, session.begin():
        summary = import_framework(session, data, raw, location=url)
    assert (summary.items, summary.created) == (28, 28)
    with tenant_session(factory, district) as session:
        assert session.scalars(select(m.Framework.location)).one() == url


def test_url_import_of_a_wrapped_v1p1_package(factory: sessionmaker[Session], district: int,
                                              ordering_package: dict[str, Any]) -> None:
    with FakeCaseProvider({ORDERING_DOC: ordering_package}, wrap_v1p1=True) as provider:
        url = provider.url_for(ORDERING_DOC, "v1p1")
        data, raw = fetch_package(url)

    assert list(data) == ["CFPackage"]
    assert provider.requests[0].authorized is False
    with tenant_session(factory, district) as session, session.begin():
        summary = import_framework(session, data, raw, location=url)
    assert (summary.identifier, summary.items) == (ORDERING_DOC, 28)


def test_url_import_retries_after_server_busy(
        ordering_package: dict[str, Any], quiet_client: tuple[HttpClient, list[float]]) -> None:
    client, sleeps = quiet_client
    with FakeCaseProvider({ORDERING_DOC: ordering_package}, busy_responses=2) as provider:
        data, _raw = fetch_package(provider.url_for(ORDERING_DOC), client=client)

    assert data == ordering_package
    assert [r.status for r in provider.requests] == [429, 429, 200]
    assert len(sleeps) == 2


def test_url_import_gives_up_when_the_provider_stays_busy(
        ordering_package: dict[str, Any]) -> None:
    client = HttpClient("CASE provider", sleep=lambda _s: None, retry=RetryPolicy(attempts=3))
    with FakeCaseProvider({ORDERING_DOC: ordering_package}, busy_responses=10) as provider, \
            pytest.raises(RetriableSourceError, match="HTTP 429"):
        fetch_package(provider.url_for(ORDERING_DOC), client=client)
    client.session.close()

    assert [r.status for r in provider.requests] == [429, 429, 429]


@pytest.mark.parametrize("token", [None, "wrong-t0ken-value"])
def test_url_import_refused_credentials_is_fatal_and_hides_the_token(
        ordering_package: dict[str, Any], token: str | None) -> None:
    with FakeCaseProvider({ORDERING_DOC: ordering_package}, token="right-t0ken") as provider, \
            pytest.raises(FatalSourceError) as caught:
        fetch_package(provider.url_for(ORDERING_DOC, "v1p1"), token=token)

    assert caught.value.context["status"] == 401
    message = str(caught.value)
    assert "HTTP 401" in message and "a valid bearer token is required" in message
    assert "right-t0ken" not in message
    if token is not None:
        assert token not in message
    assert [(r.status, r.authorized) for r in provider.requests] == [(401, token is not None)]


def test_url_import_of_an_unknown_package_reports_the_provider_description(
        ordering_package: dict[str, Any]) -> None:
    missing = "d1e2f3a4-0000-4000-8000-000000000000"
    with FakeCaseProvider({ORDERING_DOC: ordering_package}) as provider, \
            pytest.raises(FatalSourceError) as caught:
        fetch_package(provider.url_for(missing))

    assert caught.value.context["status"] == 404
    assert f"No CFPackage with sourcedId {missing}" in str(caught.value)
    assert len(provider.requests) == 1  # 404 is not retried


# ---- damaged files -------------------------------------------------------------------------


def test_a_package_file_with_a_utf8_bom_is_accepted(
        factory: sessionmaker[Session], district: int, tmp_path: Path) -> None:
    path = tmp_path / "ordering-bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + ORDERING.read_bytes())

    summary = import_file(factory, district, path)

    assert (summary.items, summary.created, summary.rejected) == (28, 28, [])


def test_truncated_json_is_a_data_error_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "truncated.json"
    raw = ORDERING.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])

    with pytest.raises(DataError) as caught:
        fetch_package(str(path))

    message = str(caught.value)
    assert str(path) in message
    assert "line" in message and "column" in message
    assert "truncated" in message


def test_a_missing_file_is_a_fatal_source_error(tmp_path: Path) -> None:
    with pytest.raises(FatalSourceError, match="CASE package not found"):
        fetch_package(str(tmp_path / "nope.json"))


def test_a_file_that_is_not_a_package_is_refused_and_stores_nothing(
        factory: sessionmaker[Session], district: int) -> None:
    document_only = copy.deepcopy(content_framework()["CFDocument"])
    document_only["CFPackageURI"] = {"identifier": CONTENT_DOC, "uri": "https://case.example/p"}

    with pytest.raises(DataError, match="CFPackageURI"):
        import_bytes(factory, district, dumps(document_only))

    assert count(factory, district, m.Framework) == 0
