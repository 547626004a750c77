"""parse_package on real OpenSALT fixtures and on the quirks real CASE providers emit.

The quirks are built as small dicts here; each cites where it was seen
(/work/notes/case_research.md collects the sources).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from connector.errors import DataError
from connector.frameworks.case_package import ParsedPackage, parse_package
from tests.conftest import FIXTURES

CASE = FIXTURES / "case"
DOC_ID = "d0000000-0000-0000-0000-000000000000"
ORDERING_DOC = "a33fc64e-5c40-11e7-82c4-3d54268aa9ee"


def load(name: str) -> Any:
    return json.loads((CASE / name).read_text(encoding="utf-8"))


def parse_fixture(name: str) -> ParsedPackage:
    return parse_package(load(name), name)


def item(identifier: str, statement: str | None = "A statement", **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "identifier": identifier,
        "uri": f"https://case.example/ims/case/v1p0/CFItems/{identifier}",
        "lastChangeDateTime": "2024-01-02T03:04:05+00:00",
    }
    if statement is not None:
        raw["fullStatement"] = statement
    raw.update(extra)
    return raw


def link(identifier: str, title: str = "") -> dict[str, str]:
    return {"identifier": identifier, "uri": f"local:{identifier}", "title": title}


def assoc(identifier: str, origin: str, kind: str, destination: str, **extra: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "identifier": identifier,
        "uri": f"https://case.example/ims/case/v1p0/CFAssociations/{identifier}",
        "lastChangeDateTime": "2024-01-02T03:04:05+00:00",
        "originNodeURI": link(origin),
        "associationType": kind,
        "destinationNodeURI": link(destination),
    }
    raw.update(extra)
    return raw


def package(
    items: list[dict[str, Any]] | None = None,
    associations: list[dict[str, Any]] | None = None,
    **document: Any,
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "identifier": DOC_ID,
        "uri": f"https://case.example/ims/case/v1p0/CFDocuments/{DOC_ID}",
        "creator": "Test District",
        "title": "Test Framework",
        "lastChangeDateTime": "2024-01-02T03:04:05+00:00",
    }
    doc.update(document)
    return {
        "CFDocument": doc,
        "CFItems": items or [],
        "CFAssociations": associations or [],
        "CFDefinitions": {"CFItemTypes": []},
    }


# ---- the real fixtures ----------------------------------------------------------------------


def test_ordering_fixture_has_28_items_and_28_child_links() -> None:
    parsed = parse_fixture("opensalt-Ordering.json")

    assert parsed.document.identifier == ORDERING_DOC
    assert parsed.document.title == "ACT Holistic Framework, Math"
    assert parsed.document.creator == "ACT, Inc."
    assert parsed.document.case_version == "1.0"
    assert parsed.document.last_change == datetime(2017, 10, 18, 15, 2, 46, tzinfo=UTC)
    assert len(parsed.items) == 28
    assert len({i.identifier for i in parsed.items}) == 28
    assert len(parsed.associations) == 28
    assert parsed.association_counts == {"isChildOf": 28}
    assert parsed.rejections == ()
    assert parsed.warnings == ()
    first = parsed.items[0]
    assert first.human_coding_scheme == "H.A.MATH.GM"
    assert first.abbreviated_statement == "Geometry and Measurement"
    assert first.full_statement.startswith("Properties and measurements")
    top = [a for a in parsed.associations if a.destination_identifier == ORDERING_DOC]
    assert [a.origin_identifier for a in top] == [first.identifier]
    # None of its isChildOf carries a sequenceNumber: ordering must come from the codes.
    assert {a.sequence_number for a in parsed.associations} == {None}


def test_smart_level_fixture_keeps_two_levels_without_codes() -> None:
    parsed = parse_fixture("opensalt-SmartLevelFramework.json")

    assert len(parsed.items) == 14
    assert [i.full_statement for i in parsed.items[:4]] == ["Item 1", "Item 2", "Item 1.1", "Item 1.2"]
    assert all(i.human_coding_scheme == "" for i in parsed.items)
    parents = Counter(a.destination_identifier for a in parsed.associations)
    assert parents == {
        DOC_ID: 2,
        "00000000-0000-0000-0000-000000000001": 10,
        "00000000-0000-0000-0000-000000000002": 2,
    }


def test_sequence_number_fixture_reads_sequence_numbers() -> None:
    parsed = parse_fixture("opensalt-SequenceNumberFramework.json")

    by_origin = {a.origin_identifier: a.sequence_number for a in parsed.associations}
    assert by_origin == {
        "e144c2e6-c0ea-11e7-95f7-5d664f4d8844": 2,
        "ea98ab46-c0ea-11e7-820f-a71b35976453": 1,
    }
    assert [i.human_coding_scheme for i in parsed.items] == ["SNT.1", "SNT.2"]


def test_item_type_fixture_reads_definitions() -> None:
    parsed = parse_fixture("opensalt-ItemTypeTestFramework.json")

    assert len(parsed.item_types) == 1
    item_type = parsed.item_types[0]
    assert item_type.identifier == "b0000000-0000-0000-0000-000000000000"
    assert (item_type.title, item_type.type_code, item_type.hierarchy_code) == ("Standard", "Standard", "1")
    assert parsed.items[0].item_type == "Standard"
    assert parsed.document.adoption_status == "Draft"


def test_item_type_comes_from_cfdefinitions_not_from_the_stale_string() -> None:
    data = load("opensalt-ItemTypeTestFramework.json")
    raw_item = data["CFItems"][0]
    raw_item["CFItemType"] = "Old name"
    raw_item["CFItemTypeURI"]["title"] = "Old link title"
    raw_item["CFItemTypeURI"]["identifier"] = "B0000000-0000-0000-0000-000000000000"  # upper case

    parsed = parse_package(data, "item-type.json")

    assert parsed.items[0].item_type == "Standard"


def test_item_type_falls_back_to_the_string_without_a_definition() -> None:
    data = package([item("i-1", CFItemType="Learning Target")])

    assert parse_package(data, "x.json").items[0].item_type == "Learning Target"


def test_utf8_fixture_keeps_non_ascii_text() -> None:
    parsed = parse_fixture("opensalt-Utf8TestFramework.json")

    assert parsed.document.title == "UTF8 \U0001d451 Test"
    assert parsed.items[0].full_statement == "Item \U0001d451 1"


@pytest.mark.parametrize("name", sorted(p.name for p in CASE.glob("opensalt-*.json")))
def test_every_fixture_parses_without_rejections(name: str) -> None:
    parsed = parse_fixture(name)

    assert parsed.rejections == ()
    assert len(parsed.items) == len(load(name)["CFItems"])


# ---- CASE 1.1 detection --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({}, "1.0"),
        ({"caseVersion": "1.1"}, "1.1"),
        ({"frameworkType": "Competency Framework"}, "1.1"),
        ({"uri": f"https://case.example/ims/case/v1p1/CFDocuments/{DOC_ID}"}, "1.1"),
        ({"uri": f"https://case.example/ims/case/v1p0/CFDocuments/{DOC_ID}"}, "1.0"),
    ],
)
def test_case_version_detection(document: dict[str, Any], expected: str) -> None:
    assert parse_package(package(**document), "x.json").document.case_version == expected


# ---- tolerated quirks ----------------------------------------------------------------------


def test_cfpackage_wrapper_is_unwrapped() -> None:
    # Source: 1EdTech/OpenCASE serves v1p1 packages as {"CFPackage": {...}}.
    inner = package([item("i-1")], [assoc("a-1", "i-1", "isChildOf", DOC_ID)])

    parsed = parse_package({"CFPackage": inner}, "wrapped.json")

    assert parsed.document.identifier == DOC_ID
    assert [i.identifier for i in parsed.items] == ["i-1"]
    assert parsed.association_counts == {"isChildOf": 1}


def test_cfdefinitions_as_an_empty_list() -> None:
    data = package([item("i-1", CFItemType="Standard")])
    data["CFDefinitions"] = []

    parsed = parse_package(data, "x.json")

    assert parsed.item_types == ()
    assert parsed.items[0].item_type == "Standard"
    assert parsed.rejections == ()


def test_sequence_number_given_as_a_string() -> None:
    # Source: opensalt "sample files/opensalt-framework-20c5134f-....json" (2017 export).
    data = package([item("i-1"), item("i-2")], [
        assoc("a-1", "i-1", "isChildOf", DOC_ID, sequenceNumber="2"),
        assoc("a-2", "i-2", "isChildOf", DOC_ID, sequenceNumber=" 10 "),
        assoc("a-3", "i-2", "isPeerOf", "i-1", sequenceNumber="second"),
    ])

    numbers = {a.identifier: a.sequence_number for a in parse_package(data, "x.json").associations}

    assert numbers == {"a-1": 2, "a-2": 10, "a-3": None}


def test_education_level_as_a_comma_separated_string_and_legacy_key() -> None:
    data = package([
        item("i-1", educationLevel="06,07"),
        item("i-2", educationalLevel="08"),
        item("i-3", educationLevel=["06", "07"], subject="Math"),
    ])

    items = {i.identifier: i for i in parse_package(data, "x.json").items}

    assert items["i-1"].education_levels == ("06", "07")
    assert items["i-2"].education_levels == ("08",)
    assert items["i-3"].education_levels == ("06", "07")
    assert items["i-3"].subjects == ("Math",)


def test_missing_full_statement_falls_back_with_a_warning() -> None:
    # Source: Texas TEKS items without fullStatement (opensalt CaseImport.php).
    data = package([item("i-1", None, abbreviatedStatement="Ratios")])

    parsed = parse_package(data, "teks.json")

    assert parsed.rejections == ()
    assert [i.full_statement for i in parsed.items] == ["Ratios"]
    assert len(parsed.warnings) == 1
    warning = parsed.warnings[0]
    assert warning.field == "CFItems[0].fullStatement"
    assert warning.record_key == "i-1"
    assert "fullStatement" in warning.reason


def test_item_with_nothing_to_show_is_rejected() -> None:
    data = package([item("i-1"), item("i-2", None), item("i-3", "")])

    parsed = parse_package(data, "empty.json")

    assert [i.identifier for i in parsed.items] == ["i-1"]
    assert [(r.row, r.field, r.record_key) for r in parsed.rejections] == [
        (2, "fullStatement", "i-2"),
        (3, "fullStatement", "i-3"),
    ]
    assert "fullStatement" in parsed.rejections[0].reason


def test_unknown_association_type_is_rejected() -> None:
    data = package([item("i-1"), item("i-2")], [
        assoc("a-1", "i-1", "isChildOf", DOC_ID),
        assoc("a-2", "i-2", "isCousinOf", "i-1"),
        assoc("a-3", "i-2", "ext:alignsWith", "i-1"),
    ])

    parsed = parse_package(data, "x.json")

    assert parsed.association_counts == {"ext:alignsWith": 1, "isChildOf": 1}
    assert len(parsed.rejections) == 1
    rejection = parsed.rejections[0]
    assert (rejection.row, rejection.field, rejection.record_key) == (2, "associationType", "a-2")
    assert "isCousinOf" in rejection.reason


def test_related_to_alias_becomes_is_related_to() -> None:
    # Source: opensalt CaseImport.php fixes "RelatedTo" association types.
    data = package([item("i-1"), item("i-2")], [assoc("a-1", "i-1", "RelatedTo", "i-2")])

    parsed = parse_package(data, "x.json")

    assert parsed.rejections == ()
    assert [a.association_type for a in parsed.associations] == ["isRelatedTo"]
    assert parsed.association_counts == {"isRelatedTo": 1}


@pytest.mark.parametrize(
    "destination",
    [None, {"title": "Somewhere", "uri": "https://case.example/x"}, {"identifier": ""}, "not-a-link"],
)
def test_association_without_destination_identifier_is_rejected(destination: Any) -> None:
    raw = assoc("a-1", "i-1", "isChildOf", DOC_ID)
    raw["destinationNodeURI"] = destination
    data = package([item("i-1")], [raw])

    parsed = parse_package(data, "x.json")

    assert parsed.associations == ()
    assert [(r.field, r.record_key) for r in parsed.rejections] == [("destinationNodeURI", "a-1")]


def test_link_objects_with_sourced_id() -> None:
    # Source: TimeBack CASE API documents link objects keyed by sourcedId.
    raw = assoc("a-1", "x", "isChildOf", "y")
    raw["originNodeURI"] = {"sourcedId": "i-1", "uri": "local:i-1", "title": "One"}
    raw["destinationNodeURI"] = {"sourcedId": DOC_ID.upper(), "uri": "local:doc"}

    parsed = parse_package(package([item("i-1")], [raw]), "x.json")

    assert parsed.rejections == ()
    only = parsed.associations[0]
    assert (only.origin_identifier, only.destination_identifier) == ("i-1", DOC_ID)


def test_duplicate_item_identifiers_warn_and_keep_the_later_copy() -> None:
    data = package([item("i-1", "first copy"), item("i-2"), item("i-1", "second copy")])

    parsed = parse_package(data, "dupes.json")

    assert [(i.identifier, i.full_statement) for i in parsed.items if i.identifier == "i-1"] == [
        ("i-1", "second copy")
    ]
    assert len(parsed.items) == 2
    assert [(w.row, w.field, w.record_key) for w in parsed.warnings] == [(3, "identifier", "i-1")]
    assert parsed.rejections == ()


def test_duplicate_association_identifiers_keep_the_later_copy() -> None:
    data = package([item("i-1"), item("i-2")], [
        assoc("a-1", "i-1", "isChildOf", DOC_ID),
        assoc("a-1", "i-1", "isChildOf", "i-2"),
    ])

    parsed = parse_package(data, "x.json")

    assert [a.destination_identifier for a in parsed.associations] == ["i-2"]
    assert [w.field for w in parsed.warnings] == ["identifier"]


def test_uuid_identifiers_are_lower_cased_and_others_kept_as_is() -> None:
    upper = "E144C2E6-C0EA-11E7-95F7-5D664F4D8844"
    asn = "http://purl.org/ASN/resources/S1143409"
    data = package(
        [item(upper), item(asn), item(" Item-ABC ")],
        [assoc("0434307A-C0EB-11E7-BAD9-1F2B8D8C4F6F", upper, "isChildOf", DOC_ID.upper()),
         assoc("Assoc-X", asn, "isChildOf", upper)],
        identifier=DOC_ID.upper(),
    )

    parsed = parse_package(data, "x.json")

    assert parsed.document.identifier == DOC_ID
    assert [i.identifier for i in parsed.items] == [upper.lower(), asn, "Item-ABC"]
    first, second = parsed.associations
    assert first.identifier == "0434307a-c0eb-11e7-bad9-1f2b8d8c4f6f"
    assert (first.origin_identifier, first.destination_identifier) == (upper.lower(), DOC_ID)
    assert second.identifier == "Assoc-X"
    assert (second.origin_identifier, second.destination_identifier) == (asn, upper.lower())


def test_cfrubrics_given_as_an_object() -> None:
    # Source: 1EdTech CASE-bootcamp provider emits "CFRubrics": {}.
    empty = package([item("i-1")])
    empty["CFRubrics"] = {}
    keyed = package([item("i-1")])
    keyed["CFRubrics"] = {"r": {"identifier": "R-1", "title": "Essay", "CFRubricCriteria": [
        {"identifier": "c-1", "description": "Thesis"}, "junk"]}}

    assert parse_package(empty, "x.json").rubrics == ()
    assert parse_package(empty, "x.json").rejections == ()
    rubrics = parse_package(keyed, "x.json").rubrics
    assert [(r.identifier, r.title) for r in rubrics] == [("R-1", "Essay")]
    assert rubrics[0].criteria == ({"identifier": "c-1", "description": "Thesis"},)


def test_empty_strings_and_nulls_are_absent() -> None:
    data = package([item("i-1", humanCodingScheme="", abbreviatedStatement=None, notes="  ")],
                   publisher=None, version="")

    parsed = parse_package(data, "x.json")

    only = parsed.items[0]
    assert (only.human_coding_scheme, only.abbreviated_statement, only.notes) == ("", "", "")
    assert (parsed.document.publisher, parsed.document.version) == ("", "")


def test_missing_sections_give_an_empty_package() -> None:
    parsed = parse_package({"CFDocument": {"identifier": DOC_ID, "title": "Bare"}}, "bare.json")

    assert (parsed.items, parsed.associations, parsed.item_types, parsed.rubrics) == ((), (), (), ())
    # The CFDocument's other required fields are only warned about.
    assert {w.field for w in parsed.warnings} == {
        "CFDocument.uri", "CFDocument.creator", "CFDocument.lastChangeDateTime"}


def test_the_input_is_not_modified() -> None:
    data = load("opensalt-Ordering.json")
    before = copy.deepcopy(data)

    parse_package(data, "x.json")

    assert data == before


# ---- not a package at all ------------------------------------------------------------------


def test_pre_1_0_lsdoc_draft_is_rejected_with_a_hint() -> None:
    # Source: opensalt "sample files/math_cfs_sample.json" (pre-CASE-1.0 draft format).
    draft = {"lsDoc": {"identifier": "http://purl.org/ASN/resources/D10003FB"}, "lsItems": []}

    with pytest.raises(DataError) as caught:
        parse_package(draft, "math_cfs_sample.json")

    message = str(caught.value)
    assert "math_cfs_sample.json is not a CASE CFPackage" in message
    assert "pre-1.0" in message
    assert "lsDoc" in message


def test_cfdocument_alone_is_rejected_pointing_at_its_package_uri() -> None:
    # Source: opensalt MirrorServer.php retries a document URL through its CFPackageURI.
    document = {
        "identifier": DOC_ID,
        "title": "Just a document",
        "CFPackageURI": {
            "identifier": DOC_ID,
            "uri": f"https://case.example/ims/case/v1p0/CFPackages/{DOC_ID}",
        },
    }

    with pytest.raises(DataError) as caught:
        parse_package(document, "doc.json")

    assert "CFPackageURI" in str(caught.value)
    assert "no 'CFDocument'" in str(caught.value)


@pytest.mark.parametrize("data", [[], "CFDocument", None, {"CFDocument": "x"}, {"CFPackage": []}])
def test_other_shapes_are_not_packages(data: Any) -> None:
    with pytest.raises(DataError, match="is not a CASE CFPackage"):
        parse_package(data, "odd.json")


@pytest.mark.parametrize(
    ("document", "field"),
    [({"title": "No id"}, "identifier"), ({"identifier": DOC_ID}, "title")],
)
def test_document_without_identifier_or_title_is_an_error(document: dict[str, Any], field: str) -> None:
    with pytest.raises(DataError) as caught:
        parse_package({"CFDocument": document}, "x.json")

    assert caught.value.context["field"] == field


def test_control_characters_and_overlong_codes_reject_the_item_with_its_path() -> None:
    # A framework can come from a provider outside the district: its text is checked like
    # any vendor's, and one bad item does not stop the others.
    good = item("11111111-1111-1111-1111-111111111111")
    nul = item("22222222-2222-2222-2222-222222222222", "Ratios\x00 and rates")
    long_code = item("33333333-3333-3333-3333-333333333333", humanCodingScheme="X" * 300)
    bad_link = assoc("44444444-4444-4444-4444-444444444444", good["identifier"], "isChildOf",
                     DOC_ID)
    bad_link["originNodeURI"]["title"] = "bell\x07"
    parsed = parse_package(package([good, nul, long_code], [bad_link]), "outside.json")
    assert [i.identifier for i in parsed.items] == [good["identifier"]]
    reasons = [r.reason for r in parsed.rejections]
    assert reasons == [
        "CFItems[1].fullStatement holds a control character (U+0000, a NUL byte) at position 7",
        "CFItems[2] (33333333-3333-3333-3333-333333333333): 'humanCodingScheme' is 300 "
        "characters long; at most 255 are kept",
        "CFAssociations[0]: originNodeURI.title holds a control character (U+0007) at position 5",
    ]
    with pytest.raises(DataError, match=r"CFDocument.title holds a control character"):
        parse_package(package([good], title="Math\x00"), "outside.json")
