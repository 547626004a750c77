"""Placing items in the isChildOf tree, and reading a target DOK from CASE associations."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Sequence

import pytest

from connector.domain.framework import Association, Competency
from connector.frameworks.case_package import parse_package
from connector.frameworks.dok import (
    DEFAULT_DOK_PATTERNS,
    DokNode,
    compile_patterns,
    dok_from_texts,
    target_doks,
)
from connector.frameworks.hierarchy import Placement, natural_key, place_items
from tests.conftest import FIXTURES

DOC = "doc"
PATTERNS = compile_patterns(DEFAULT_DOK_PATTERNS)


def comp(identifier: str, code: str = "", *, enumeration: str = "") -> Competency:
    return Competency(identifier=identifier, full_statement=f"Statement {identifier}",
                      human_coding_scheme=code, list_enumeration=enumeration)


_counter = iter(range(1_000_000))


def child_of(origin: str, parent: str, sequence: int | None = None) -> Association:
    return Association(identifier=f"a{next(_counter)}", association_type="isChildOf",
                       origin_identifier=origin, destination_identifier=parent,
                       sequence_number=sequence)


def children_in_order(placements: dict[str, Placement], parent: str | None) -> list[str]:
    siblings = [(p.sequence, ident) for ident, p in placements.items() if p.parent_identifier == parent]
    return [ident for _, ident in sorted(siblings)]


# ---- hierarchy -----------------------------------------------------------------------------


def test_parents_depth_and_root_come_from_is_child_of() -> None:
    items = [comp("grand", "A.1.a"), comp("root", "A"), comp("child", "A.1"), comp("other", "B")]
    links = [child_of("root", DOC), child_of("child", "root"), child_of("grand", "child"),
             child_of("other", DOC)]

    placements = place_items(DOC, items, links)

    assert placements["root"] == Placement(None, 1, 1, "root")
    assert placements["child"] == Placement("root", 1, 2, "root")
    assert placements["grand"] == Placement("child", 1, 3, "root")
    assert placements["other"] == Placement(None, 2, 1, "other")


def test_items_without_is_child_of_sit_under_the_document() -> None:
    placements = place_items(DOC, [comp("x", "X"), comp("y", "Y")], [])

    assert {i: (p.parent_identifier, p.depth) for i, p in placements.items()} == {
        "x": (None, 1), "y": (None, 1)}
    assert children_in_order(placements, None) == ["x", "y"]


def test_siblings_order_by_sequence_number_first() -> None:
    items = [comp("p"), comp("c1", "L1.1"), comp("c2", "L1.2"), comp("c3", "L1.3")]
    links = [child_of("p", DOC), child_of("c1", "p", 3), child_of("c2", "p", 1), child_of("c3", "p", 2)]

    placements = place_items(DOC, items, links)

    assert children_in_order(placements, "p") == ["c2", "c3", "c1"]
    assert [placements[i].sequence for i in ("c2", "c3", "c1")] == [1, 2, 3]


def test_siblings_with_a_sequence_number_come_before_those_without() -> None:
    items = [comp("p"), comp("early", "L1.1"), comp("numbered", "L1.9")]
    links = [child_of("p", DOC), child_of("early", "p"), child_of("numbered", "p", 7)]

    assert children_in_order(place_items(DOC, items, links), "p") == ["numbered", "early"]


def test_siblings_without_sequence_numbers_use_a_natural_sort_of_their_codes() -> None:
    codes = ["L1.10", "L1.2", "L1.1", "L1.24", "L1.3"]
    items = [comp("p")] + [comp(code, code) for code in codes]
    links = [child_of("p", DOC)] + [child_of(code, "p") for code in codes]

    assert children_in_order(place_items(DOC, items, links), "p") == [
        "L1.1", "L1.2", "L1.3", "L1.10", "L1.24"]


def test_list_enumeration_orders_items_without_a_code() -> None:
    items = [comp("p"), comp("b", enumeration="10"), comp("a", enumeration="9")]
    links = [child_of("p", DOC), child_of("b", "p"), child_of("a", "p")]

    assert children_in_order(place_items(DOC, items, links), "p") == ["a", "b"]


def test_ties_keep_file_order() -> None:
    items = [comp("p"), comp("z", "SAME"), comp("m", "SAME"), comp("a", "SAME"),
             comp("n2"), comp("n1")]
    links = [child_of("p", DOC)] + [child_of(i, "p") for i in ("z", "m", "a")] + [
        child_of("n2", DOC), child_of("n1", DOC)]

    placements = place_items(DOC, items, links)

    assert children_in_order(placements, "p") == ["z", "m", "a"]
    assert children_in_order(placements, None) == ["p", "n2", "n1"]


def test_parent_in_another_framework_leaves_the_item_at_the_top() -> None:
    items = [comp("local-parent"), comp("borrowed")]
    links = [child_of("local-parent", DOC), child_of("borrowed", "item-of-another-framework")]

    placements = place_items(DOC, items, links)

    assert placements["borrowed"].parent_identifier is None
    assert placements["borrowed"].depth == 1
    assert placements["borrowed"].root_identifier == "borrowed"


def test_links_of_other_types_do_not_place_items() -> None:
    items = [comp("a"), comp("b")]
    links = [child_of("a", DOC),
             Association("x", "isPartOf", "b", "a"), Association("y", "precedes", "a", "b")]

    placements = place_items(DOC, items, links)

    assert placements["b"].parent_identifier is None


def test_a_cycle_does_not_hang_and_every_item_is_placed() -> None:
    items = [comp("a"), comp("b"), comp("c"), comp("tail"), comp("fine")]
    links = [child_of("a", "b"), child_of("b", "c"), child_of("c", "a"), child_of("tail", "a"),
             child_of("fine", DOC)]
    result: dict[str, dict[str, Placement]] = {}

    worker = threading.Thread(target=lambda: result.update(p=place_items(DOC, items, links)),
                              daemon=True)
    worker.start()
    worker.join(timeout=5)

    assert not worker.is_alive(), "place_items did not return on a cyclic hierarchy"
    placements = result["p"]
    assert set(placements) == {"a", "b", "c", "tail", "fine"}
    assert placements["fine"] == Placement(None, 1, 1, "fine")
    for identifier in ("a", "b", "c", "tail"):
        assert placements[identifier].depth >= 1
        assert placements[identifier].root_identifier


def test_self_parent_does_not_hang() -> None:
    placements = place_items(DOC, [comp("self")], [child_of("self", "self")])

    assert placements["self"].depth == 1
    assert placements["self"].parent_identifier is None


def test_ordering_fixture_hierarchy() -> None:
    raw = json.loads((FIXTURES / "case" / "opensalt-Ordering.json").read_text("utf-8"))
    parsed = parse_package(raw, "Ordering.json")

    placements = place_items(parsed.document.identifier, parsed.items, parsed.associations)

    by_code = {i.human_coding_scheme: i.identifier for i in parsed.items}
    code_of = {identifier: code for code, identifier in by_code.items()}
    assert sorted(p.depth for p in placements.values()) == [1, 2, 3, 4] + [5] * 24
    assert {p.root_identifier for p in placements.values()} == {by_code["H.A.MATH.GM"]}
    leaves = children_in_order(placements, by_code["H.A.MATH.GM.PF.2DFP.L1"])
    assert [code_of[leaf] for leaf in leaves] == [
        f"H.A.MATH.GM.PF.2DFP.L1.{n}" for n in range(1, 25)]


def test_natural_key_orders_numbers_numerically() -> None:
    assert sorted(["L1.10", "L1.2", "l1.1", "L2"], key=natural_key) == ["l1.1", "L1.2", "L1.10", "L2"]


# ---- DOK from text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("M-DOK2", 2),  # Smarter Balanced DOK framework codes
        ("DOK 3", 3),
        ("DOK-4", 4),
        ("dok1", 1),
        ("Depth of Knowledge Level 2", 2),
        ("Webb's depth-of-knowledge: 3", 3),
        ("DOK 5", None),
        ("Level 3", None),
        ("Recall and reproduction", None),
        ("", None),
    ],
)
def test_dok_from_texts_with_default_patterns(text: str, level: int | None) -> None:
    assert dok_from_texts([text], PATTERNS) == level


def test_level_alone_counts_only_when_allowed() -> None:
    assert dok_from_texts(["Level 3"], PATTERNS) is None
    assert dok_from_texts(["Level 3"], PATTERNS, allow_level=True) == 3
    assert dok_from_texts(["Level 7"], PATTERNS, allow_level=True) is None


def test_first_text_that_states_a_level_wins() -> None:
    texts = ["no level here", "M-DOK3", "DOK 1"]

    assert dok_from_texts(texts, PATTERNS) == 3


def test_district_patterns_replace_the_defaults() -> None:
    patterns = compile_patterns([r"Tiefe\s*(\d)"])

    assert dok_from_texts(["Tiefe 2"], patterns) == 2
    assert dok_from_texts(["DOK 2"], patterns) is None


@pytest.mark.parametrize("pattern", [r"DOK\s*\d", r"(DOK)\s*(\d)"])
def test_compile_patterns_requires_exactly_one_group(pattern: str) -> None:
    with pytest.raises(ValueError, match="exactly one capture group"):
        compile_patterns([pattern])


def test_compile_patterns_rejects_an_invalid_regex() -> None:
    with pytest.raises(re.error):
        compile_patterns([r"DOK ([1-4]"])


# ---- target DOK from associations ----------------------------------------------------------


def link(origin: str, kind: str, destination: str, *, title: str = "Destination Node",
         uri: str = "") -> Association:
    return Association(identifier=f"a{next(_counter)}", association_type=kind,
                       origin_identifier=origin, destination_identifier=destination,
                       destination_title=title, destination_uri=uri or f"local:{destination}")


NODES: dict[str, DokNode] = {
    "skill-2": DokNode(("", "Level 2", "Skills and concepts"), "Grade 6 Mathematics"),
    "webb-3": DokNode(("", "Level 3: Strategic Thinking", "Requires reasoning"),
                      "Webb's Depth of Knowledge"),
    "sb-m-dok1": DokNode(("M-DOK1", "Level 1: Recall and Reproduction", ""),
                         "Norm Webb's Depth of Knowledge [DOK] Levels of Cognitive Difficulty"),
    "sb-m-dok2": DokNode(("M-DOK2", "Level 2: Skills and Concepts", ""),
                         "Norm Webb's Depth of Knowledge [DOK] Levels of Cognitive Difficulty"),
    "sb-m-dok4": DokNode(("M-DOK4", "Level 4: Extended Thinking", ""),
                         "Norm Webb's Depth of Knowledge [DOK] Levels of Cognitive Difficulty"),
    "range-ald-1": DokNode(("", "Level 1", "Students can identify ..."),
                           "Grade 3 Mathematics Item Specification C1 TH"),
}


def doks(links: Sequence[Association]) -> dict[str, int]:
    return target_doks(links, NODES.get, PATTERNS)


def test_has_skill_level_to_a_level_node() -> None:
    assert doks([link("t", "hasSkillLevel", "skill-2")]) == {"t": 2}


def test_is_related_to_a_node_of_a_dok_framework() -> None:
    assert doks([link("t", "isRelatedTo", "webb-3")]) == {"t": 3}


def test_is_related_to_an_achievement_level_is_not_dok() -> None:
    # Source: Smarter Balanced item specs call range ALDs "Level 1" (AP-CSE-API mocks).
    assert doks([link("t", "isRelatedTo", "range-ald-1")]) == {}


def test_unresolved_placeholder_destination_gives_no_dok() -> None:
    assert doks([link("t", "isRelatedTo", "e1f96986-bb26-11e7-0000-000000000000")]) == {}


def test_unresolved_destination_uri_can_state_the_dok() -> None:
    uri = "https://case.example/uri/DOK:%20M-DOK2"

    assert doks([link("t", "isRelatedTo", "unknown", uri=uri)]) == {"t": 2}


def test_unresolved_level_title_counts_only_under_has_skill_level() -> None:
    links = [link("skill", "hasSkillLevel", "gone", title="Level 2"),
             link("related", "isRelatedTo", "gone", title="Level 2")]

    assert doks(links) == {"skill": 2}


def test_several_dok_links_give_the_highest() -> None:
    links = [link("t", "isRelatedTo", "sb-m-dok1"), link("t", "isRelatedTo", "sb-m-dok4"),
             link("t", "isRelatedTo", "sb-m-dok2"), link("u", "isRelatedTo", "sb-m-dok2"),
             link("u", "isRelatedTo", "range-ald-1")]

    assert doks(links) == {"t": 4, "u": 2}


def test_other_association_types_are_ignored() -> None:
    links = [link("t", kind, "sb-m-dok2") for kind in ("exactMatchOf", "isChildOf", "precedes")]

    assert doks(links) == {}
