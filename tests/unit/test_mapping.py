"""Mapping: crosswalk parsing and lookup, competency lookup, code detection, alignment order, cut scores."""

from __future__ import annotations

import pytest

from connector.domain.records import LearningObjectiveRef
from connector.errors import ConfigurationError, DataError
from connector.mapping.alignment import (
    ORIGIN_CODE,
    ORIGIN_CROSSWALK,
    ORIGIN_SOURCE,
    EvidenceDefaults,
    ItemFacts,
    Resolution,
    resolve_alignments,
)
from connector.mapping.codes import find_codes, find_dok
from connector.mapping.competency_index import (
    CompetencyIndex,
    CompetencyRef,
    exact_match_aliases,
)
from connector.mapping.crosswalk import Crosswalk, CrosswalkEntry, parse_crosswalk
from connector.mapping.normalise import CutScore, ScoreConversion, text_to_level, to_level
from tests.strategies import FOUR_POINT

RP1A_ID = "6b0f5a2e-1c3d-4e5f-8a9b-0c1d2e3f4a5b"
RP1B_ID = "7c1a6b3f-2d4e-4f60-9bac-1d2e3f4a5b6c"
RP2_ID = "8d2b7c4a-3e5f-4071-8cbd-2e3f4a5b6c7d"
RP1A, RP1B, RP2 = "CR.MA.RP.1.a", "CR.MA.RP.1.b", "CR.MA.RP.2"
INDEX = CompetencyIndex([
    CompetencyRef(RP1A_ID, RP1A, target_dok=3),
    CompetencyRef(RP1B_ID, RP1B, target_dok=2),
    CompetencyRef(RP2_ID, RP2),
])
DEFAULTS = EvidenceDefaults(
    evidence_type="teacher_task",
    dok=None,
    by_category={
        "Performance Tasks": ("performance_task", 3),
        "Practice": ("adaptive_practice", None),
        "Exit tickets": (None, 1),
    },
)


def row(**fields: str | None) -> dict[str, str | None]:
    base: dict[str, str | None] = {"source": "canvas", "item": "a-1", "competency": RP1A,
                                   "dok": "", "evidence_type": "", "weight": ""}
    base.update(fields)
    return base


def entry(source: str, item: str, competency: str, *, dok: int | None = None,
          evidence_type: str | None = None, weight: float = 1.0, number: int = 2) -> CrosswalkEntry:
    return CrosswalkEntry(source, item, competency, dok, evidence_type, weight, "xw.csv", number)


# --- crosswalk parsing -----------------------------------------------------------------------


def test_valid_rows_parse_with_defaults_and_row_numbers() -> None:
    entries, rejections = parse_crosswalk(
        [row(), row(item=" ixl-7.* ", dok=" 3 ", evidence_type="adaptive_practice", weight="0.5")],
        "xw.csv",
    )
    assert rejections == []
    first, second = entries
    assert (first.dok, first.evidence_type, first.weight, first.row) == (None, None, 1.0, 2)
    assert (second.item, second.dok, second.evidence_type, second.weight, second.row) == (
        "ixl-7.*", 3, "adaptive_practice", 0.5, 3)
    assert second.is_pattern and not first.is_pattern
    assert first.file == "xw.csv"


@pytest.mark.parametrize(("bad", "field", "reason"), [
    ({"dok": "5"}, "dok", "DOK must be 1, 2, 3 or 4: '5'"),
    ({"dok": "three"}, "dok", "DOK must be 1, 2, 3 or 4: 'three'"),
    ({"dok": "0"}, "dok", "DOK must be 1, 2, 3 or 4"),
    ({"evidence_type": "homework"}, "evidence_type", "unknown evidence type 'homework'"),
    ({"weight": "heavy"}, "weight", "weight must be a number: 'heavy'"),
    ({"weight": "-1"}, "weight", "weight must be >= 0"),
    ({"competency": ""}, "competency", "'competency' is required"),
    ({"competency": None}, "competency", "'competency' is required"),
    ({"item": "   "}, "item", "'item' is required"),
])
def test_bad_rows_are_rejected_with_row_number_and_field(
    bad: dict[str, str | None], field: str, reason: str,
) -> None:
    entries, rejections = parse_crosswalk([row(), row(**bad), row(item="a-3")], "xw.csv")
    assert [e.row for e in entries] == [2, 4]
    assert len(rejections) == 1
    rejection = rejections[0]
    assert (rejection.file, rejection.row, rejection.field) == ("xw.csv", 3, field)
    assert reason in rejection.reason
    assert str(rejection).startswith(f"xw.csv:3 [{field}]: ")


def test_unknown_evidence_type_message_lists_the_known_types() -> None:
    _, [rejection] = parse_crosswalk([row(evidence_type="homework")], "xw.csv")
    assert "performance_task" in rejection.reason and "adaptive_practice" in rejection.reason


@pytest.mark.parametrize("weight", ["nan", "inf"])
def test_non_finite_weight_is_rejected(weight: str) -> None:
    entries, rejections = parse_crosswalk([row(weight=weight)], "xw.csv")
    assert entries == []
    assert [r.field for r in rejections] == ["weight"]


# --- crosswalk lookup ------------------------------------------------------------------------


def test_exact_id_beats_a_pattern_listed_first() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-*", RP2), entry("canvas", "a-1", RP1A, number=3)])
    assert [e.competency for e in crosswalk.lookup("canvas", "a-1")] == [RP1A]
    assert [e.competency for e in crosswalk.lookup("canvas", "a-2")] == [RP2]
    assert len(crosswalk) == 2


def test_source_specific_exact_row_beats_a_wildcard_source() -> None:
    crosswalk = Crosswalk([entry("*", "a-1", RP2), entry("canvas", "a-1", RP1A, number=3)])
    assert [e.competency for e in crosswalk.lookup("canvas", "a-1")] == [RP1A]
    assert [e.competency for e in crosswalk.lookup("schoology", "a-1")] == [RP2]


def test_rows_for_another_source_do_not_match() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", RP1A), entry("canvas", "a-*", RP2)])
    assert crosswalk.lookup("ixl", "a-1") == []


def test_all_rows_for_an_exact_item_are_returned_in_order() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", RP1A), entry("canvas", "a-1", RP1B, number=3)])
    assert [e.competency for e in crosswalk.lookup("canvas", "a-1")] == [RP1A, RP1B]


def test_first_matching_pattern_group_wins() -> None:
    crosswalk = Crosswalk([
        entry("ixl", "ixl-7.*", RP1A),
        entry("ixl", "ixl-7.*", RP1B, number=3),
        entry("ixl", "ixl-7.R*", RP2, number=4),
        entry("ixl", "ixl-8.*", RP2, number=5),
    ])
    assert [e.competency for e in crosswalk.lookup("ixl", "ixl-7.RP1")] == [RP1A, RP1B]
    assert [e.competency for e in crosswalk.lookup("ixl", "ixl-8.RP1")] == [RP2]
    assert crosswalk.lookup("ixl", "ixl-9.RP1") == []


def test_pattern_is_anchored_at_both_ends() -> None:
    crosswalk = Crosswalk([entry("*", "PP-*-RP-1", RP1A)])
    assert crosswalk.lookup("pp", "PP-7-RP-1") != []
    assert crosswalk.lookup("pp", "PP-7-RP-10") == []
    assert crosswalk.lookup("pp", "XPP-7-RP-1") == []


def titled(item: str, competency: str, *, course: str = "", number: int = 2) -> CrosswalkEntry:
    return CrosswalkEntry("canvas", item, competency, None, None, 1.0, "xw.csv", number,
                          match="title", course=course)


def test_a_title_row_maps_every_section_copy_of_an_assignment() -> None:
    # The same quiz copied into three sections has three ids and one title.
    crosswalk = Crosswalk([titled("Unit 3 Quiz: Ratios", RP1A)])
    for copy in ("a-101", "a-202", "a-303"):
        assert [e.competency for e in crosswalk.lookup(
            "canvas", copy, "Unit 3 Quiz: Ratios", "cls-1")] == [RP1A]
    assert crosswalk.lookup("canvas", "a-404", "Unit 3 Quiz: Rates", "cls-1") == []
    assert crosswalk.lookup("canvas", "Unit 3 Quiz: Ratios") == []  # an id is not a title


def test_a_title_row_can_be_kept_to_one_course_and_beats_the_district_wide_one() -> None:
    crosswalk = Crosswalk([titled("Exit ticket*", RP2, number=2),
                           titled("Exit ticket 4", RP1B, number=3),
                           titled("Exit ticket 4", RP1A, course="cls-7", number=4)])
    assert [e.competency for e in crosswalk.lookup("canvas", "x", "Exit ticket 4", "cls-7")] == [
        RP1A]
    assert [e.competency for e in crosswalk.lookup("canvas", "y", "Exit ticket 4", "cls-8")] == [
        RP1B]
    assert [e.competency for e in crosswalk.lookup("canvas", "z", "Exit ticket 9", "cls-8")] == [
        RP2]


def test_an_id_row_beats_a_title_row() -> None:
    crosswalk = Crosswalk([titled("Lab", RP2), entry("canvas", "a-1", RP1A, number=3)])
    assert [e.competency for e in crosswalk.lookup("canvas", "a-1", "Lab", "")] == [RP1A]


def test_a_title_row_through_the_resolver_aligns_the_item() -> None:
    crosswalk = Crosswalk([titled("Ratio lab", RP1B)])
    resolution = resolve(item(title="Ratio lab"), crosswalk)
    assert [(a.competency_identifier, a.origin) for a in resolution.alignments] == [
        (RP1B_ID, ORIGIN_CROSSWALK)]


def test_an_unknown_match_kind_is_rejected_at_its_row() -> None:
    entries, rejections = parse_crosswalk([row(match="name")], "xw.csv")
    assert entries == [] and [(r.row, r.field) for r in rejections] == [(2, "match")]
    entries, _ = parse_crosswalk([row(match="Title", course=" cls-7 ")], "xw.csv")
    assert (entries[0].match, entries[0].course) == ("title", "cls-7")


def test_pattern_matching_is_case_sensitive() -> None:
    crosswalk = Crosswalk([entry("*", "ixl-7.*", RP1A)])
    assert crosswalk.lookup("ixl", "IXL-7.A1") == []


# --- competency index and codes ---------------------------------------------------------------


def test_index_resolves_uuid_case_insensitively_and_codes() -> None:
    ref = INDEX.resolve(RP1A_ID.upper())
    assert ref is not None and ref.identifier == RP1A_ID
    assert INDEX.resolve(f"  {RP1B_ID} ") is not None
    by_code = INDEX.resolve("cr.ma.rp.2")
    assert by_code is not None and by_code.identifier == RP2_ID
    assert INDEX.resolve("CR.MA.RP.3") is None
    assert INDEX.by_identifier(RP1A) is None  # a code is not an identifier
    assert len(INDEX) == 3


def test_find_codes_finds_whole_codes_inside_titles() -> None:
    assert [r.identifier for r in find_codes("Quiz (CR.MA.RP.1.a)", INDEX)] == [RP1A_ID]
    found = find_codes("Review CR.MA.RP.2, CR.MA.RP.1.a and again CR.MA.RP.2.", INDEX)
    assert [r.identifier for r in found] == [RP2_ID, RP1A_ID]


@pytest.mark.parametrize("title", [
    "Quiz (CR.MA.RP.1.z)",  # unknown code: no fallback to CR.MA.RP.1
    "Quiz CR.MA.RP.2c",  # near miss: no prefix fallback to CR.MA.RP.2
    "Quiz CR.MA.RP.1",  # a prefix of real codes is not itself a code
    "Chapter 3.5 review",
    "",
])
def test_find_codes_does_not_guess(title: str) -> None:
    assert find_codes(title, INDEX) == []


@pytest.mark.parametrize(("text", "dok"), [
    ("Lab report - DOK 3", 3),
    ("Performance task (DOK-4)", 4),
    ("dok:2 exit ticket", 2),
    ("DOK1 warm-up", 1),
    ("DOK 5 stretch", None),
    ("DOK 34", None),
    ("Paddock 3 field trip", None),
    ("Quiz 4", None),
])
def test_find_dok(text: str, dok: int | None) -> None:
    assert find_dok(text) == dok


# --- alignment resolution ------------------------------------------------------------------------


def item(*, title: str = "", description: str = "", category: str = "",
         learning_objectives: tuple[LearningObjectiveRef, ...] = ()) -> ItemFacts:
    return ItemFacts("canvas", "a-1", title, description, category, learning_objectives)


def resolve(facts: ItemFacts, crosswalk: Crosswalk | None = None) -> Resolution:
    return resolve_alignments(facts, crosswalk=crosswalk or Crosswalk([]), index=INDEX,
                              defaults=DEFAULTS)


CASE_LO = (LearningObjectiveRef("case", RP1B_ID),)


def test_crosswalk_beats_source_objectives_and_title_codes() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", RP2_ID.upper(), dok=4, evidence_type="state_test",
                                 weight=2.0)])
    resolution = resolve(item(title=f"Quiz {RP1A}", learning_objectives=CASE_LO), crosswalk)
    [alignment] = resolution.alignments
    assert (alignment.competency_identifier, alignment.dok, alignment.evidence_type,
            alignment.weight, alignment.origin) == (RP2_ID, 4, "state_test", 2.0, ORIGIN_CROSSWALK)
    assert resolution.problems == ()


def test_source_objectives_beat_title_codes() -> None:
    resolution = resolve(item(title=f"Quiz {RP1A}", learning_objectives=CASE_LO))
    assert [(a.competency_identifier, a.origin) for a in resolution.alignments] == [
        (RP1B_ID, ORIGIN_SOURCE)]


def test_title_codes_are_the_last_resort() -> None:
    resolution = resolve(item(title=f"Quiz {RP1A}", description=f"also {RP2}"))
    assert [(a.competency_identifier, a.origin) for a in resolution.alignments] == [
        (RP1A_ID, ORIGIN_CODE), (RP2_ID, ORIGIN_CODE)]
    assert all(a.weight == 1.0 and a.evidence_type == "teacher_task" for a in resolution.alignments)


def test_nothing_found_is_unmapped_not_an_error() -> None:
    resolution = resolve(item(title="Bell ringer"))
    assert not resolution.mapped
    assert resolution.alignments == ()


def test_crosswalk_row_with_unknown_competency_falls_through_with_a_problem() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", "CR.MA.XX.9", number=7)])
    resolution = resolve(item(title=f"Quiz {RP1A}"), crosswalk)
    assert [(a.competency_identifier, a.origin) for a in resolution.alignments] == [
        (RP1A_ID, ORIGIN_CODE)]
    assert len(resolution.problems) == 1
    assert "xw.csv:7" in resolution.problems[0]
    assert "'CR.MA.XX.9'" in resolution.problems[0]


def test_one_resolved_crosswalk_row_stops_the_fall_through() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", "CR.MA.XX.9"), entry("canvas", "a-1", RP2, number=3)])
    resolution = resolve(item(title=f"Quiz {RP1A}", learning_objectives=CASE_LO), crosswalk)
    assert [(a.competency_identifier, a.origin) for a in resolution.alignments] == [
        (RP2_ID, ORIGIN_CROSSWALK)]
    assert len(resolution.problems) == 1


def test_duplicate_alignments_keep_the_first() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", RP2, dok=2), entry("canvas", "a-1", RP2_ID, dok=4)])
    [alignment] = resolve(item(), crosswalk).alignments
    assert alignment.dok == 2


def test_unknown_case_objective_is_a_problem_and_others_still_count() -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    objectives = (LearningObjectiveRef("CASE", unknown), LearningObjectiveRef("case", RP1A_ID.upper()))
    resolution = resolve(item(learning_objectives=objectives))
    assert [a.competency_identifier for a in resolution.alignments] == [RP1A_ID]
    assert resolution.problems == (f"learning objective {unknown} is not in any imported framework",)


@pytest.mark.parametrize("written", [
    "{id}", "{ID}", "urn:uuid:{id}", "URN:UUID:{ID}",
    "https://case.example.org/ims/case/v1p0/CFItems/{id}",
    "https://opensalt.example.net/uri/{id}/",
])
def test_a_case_objective_resolves_in_every_form_systems_write(written: str) -> None:
    # Canvas outcomes carry vendor_guid as districts typed it; OneRoster providers send URIs.
    ref = written.format(id=RP1A_ID, ID=RP1A_ID.upper())
    resolution = resolve(item(learning_objectives=(LearningObjectiveRef("case", ref),)))
    assert [a.competency_identifier for a in resolution.alignments] == [RP1A_ID]
    assert resolution.problems == ()


def test_an_objective_that_names_no_competency_says_so() -> None:
    written = "https://case.example.org/ims/case/v1p0/CFItems/not-an-item"
    resolution = resolve(item(learning_objectives=(LearningObjectiveRef("case", written),)))
    assert not resolution.mapped
    assert resolution.problems == (f"learning objective {written} is not in any imported framework",)


def test_unknown_case_objective_alone_falls_through_to_codes() -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    objectives = (LearningObjectiveRef("case", unknown),)
    resolution = resolve(item(title=f"Quiz {RP2}", learning_objectives=objectives))
    assert [(a.competency_identifier, a.origin) for a in resolution.alignments] == [(RP2_ID, ORIGIN_CODE)]
    assert len(resolution.problems) == 1


def test_objectives_from_non_case_sources_are_ignored() -> None:
    resolution = resolve(item(learning_objectives=(LearningObjectiveRef("state-bank", RP1A_ID),)))
    assert not resolution.mapped
    assert resolution.problems == ()


def test_dok_in_title_beats_category_default() -> None:
    facts = item(title=f"Ratio lab DOK 4 {RP1A}", category="performance tasks")
    [alignment] = resolve(facts).alignments
    assert alignment.dok == 4
    assert alignment.evidence_type == "performance_task"


def test_category_default_dok_applies_without_text_dok() -> None:
    [alignment] = resolve(item(title=f"Ratio lab {RP1A}", category="Performance Tasks")).alignments
    assert (alignment.dok, alignment.evidence_type) == (3, "performance_task")


def test_crosswalk_dok_and_type_beat_title_and_category() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", RP1A, dok=2, evidence_type="diagnostic")])
    facts = item(title="Lab DOK 4", category="Performance Tasks")
    [alignment] = resolve(facts, crosswalk).alignments
    assert (alignment.dok, alignment.evidence_type) == (2, "diagnostic")


def test_crosswalk_row_without_dok_or_type_takes_them_from_the_item() -> None:
    crosswalk = Crosswalk([entry("canvas", "a-1", RP1A)])
    [alignment] = resolve(item(title="Lab DOK 4", category="Practice"), crosswalk).alignments
    assert (alignment.dok, alignment.evidence_type) == (4, "adaptive_practice")


@pytest.mark.parametrize(("category", "expected"), [
    ("Performance Tasks", ("performance_task", 3)),
    ("  PERFORMANCE TASKS ", ("performance_task", 3)),
    ("practice", ("adaptive_practice", None)),
    ("Exit Tickets", ("teacher_task", 1)),  # type falls back, DOK from the category
    ("Homework", ("teacher_task", None)),
    ("", ("teacher_task", None)),
])
def test_evidence_defaults_for_category(category: str, expected: tuple[str, int | None]) -> None:
    assert DEFAULTS.for_category(category) == expected


def test_category_without_dok_falls_back_to_source_dok() -> None:
    defaults = EvidenceDefaults("adaptive_practice", dok=2,
                                by_category={"Tests": ("common_assessment", None)})
    assert defaults.for_category("tests") == ("common_assessment", 2)


# --- cut scores ----------------------------------------------------------------------------------

CUTS = ScoreConversion(
    cuts=(CutScore(80, "3"), CutScore(0, "1"), CutScore(90, "4"), CutScore(60, "2")),
    scale_scored_max=4,
)


@pytest.mark.parametrize(("score", "max_score", "level"), [
    (80, None, "3"),
    (79.99, None, "2"),
    (90, None, "4"),
    (100, None, "4"),
    (59.9, None, "1"),
    (0, None, "1"),
    (8, 10, "3"),  # 80 percent
    (17, 20, "3"),  # 85 percent
    (5.9, 10, "1"),
    (10, 10, "4"),
    (45, 50, "4"),
])
def test_cut_scores(score: float, max_score: float | None, level: str) -> None:
    assert to_level(score, max_score, CUTS, FOUR_POINT).code == level


@pytest.mark.parametrize(("score", "level"), [(4, "4"), (3, "3"), (2.5, "2"), (1, "1"), (0, "1")])
def test_rubric_scored_on_the_scale_is_taken_as_is(score: float, level: str) -> None:
    # 3 of 4 is 75 percent, which the cuts would call level 2; the rubric says 3.
    assert to_level(score, 4, CUTS, FOUR_POINT).code == level


def test_rubric_shortcut_needs_scale_scored_max() -> None:
    plain = ScoreConversion(cuts=CUTS.cuts)
    assert to_level(3, 4, plain, FOUR_POINT).code == "2"  # 75 percent, not rubric level 3
    assert to_level(3.6, 4, plain, FOUR_POINT).code == "4"  # 90 percent


def test_below_every_cut_is_the_lowest_level() -> None:
    high_cuts = ScoreConversion(cuts=(CutScore(50, "2"), CutScore(80, "3")))
    assert to_level(10, None, high_cuts, FOUR_POINT).code == "1"


@pytest.mark.parametrize(("score", "max_score", "message"), [
    (5, 4, "score 5 is above the maximum 4"),
    (11, 10, "score 11 is above the maximum 10"),
    (101, None, "score 101 is above the percent"),
    (-1, None, "score must not be negative: -1"),
    (-0.5, 4, "score must not be negative"),
    (3, 0, "maximum score must be positive: 0"),
])
def test_impossible_scores_raise_data_error(score: float, max_score: float | None, message: str) -> None:
    with pytest.raises(DataError, match=message):
        to_level(score, max_score, CUTS, FOUR_POINT)


def test_a_score_outside_the_items_range_is_refused_unless_extra_credit_counts() -> None:
    # OneRoster's resultValueMin/resultValueMax bound a line item's scores.
    with pytest.raises(DataError, match="score 1e\\+308 is above the maximum 10"):
        to_level(1e308, 10, CUTS, FOUR_POINT)
    with pytest.raises(DataError, match="score 1 is below the item's minimum 2"):
        to_level(1, 10, CUTS, FOUR_POINT, min_score=2)
    generous = ScoreConversion(cuts=CUTS.cuts, extra_credit="full_marks")
    assert to_level(12, 10, generous, FOUR_POINT) == to_level(10, 10, CUTS, FOUR_POINT)
    assert to_level(1e308, 10, generous, FOUR_POINT).code == "4"
    assert to_level(7, 10, generous, FOUR_POINT) == to_level(7, 10, CUTS, FOUR_POINT)
    rubric = ScoreConversion(cuts=CUTS.cuts, scale_scored_max=4, extra_credit="full_marks")
    assert to_level(5, 4, rubric, FOUR_POINT).code == "4"


def test_cut_score_validation() -> None:
    CUTS.validate(FOUR_POINT)
    with pytest.raises(ConfigurationError, match="at least one"):
        ScoreConversion(cuts=()).validate(FOUR_POINT)
    with pytest.raises(ConfigurationError, match="no level '5'"):
        ScoreConversion(cuts=(CutScore(95, "5"),)).validate(FOUR_POINT)
    with pytest.raises(ConfigurationError, match="percent 0-100: 120"):
        ScoreConversion(cuts=(CutScore(120, "4"),)).validate(FOUR_POINT)



# --- review follow-ups ---------------------------------------------------------------------------


def test_an_ambiguous_code_resolves_to_nothing_and_says_why() -> None:
    from connector.mapping.alignment import EvidenceDefaults, ItemFacts, resolve_alignments
    from connector.mapping.competency_index import CompetencyIndex, CompetencyRef
    from connector.mapping.crosswalk import Crosswalk, CrosswalkEntry

    index = CompetencyIndex([CompetencyRef("00000000-0000-4000-8000-000000000001", "RL.7.1"),
                             CompetencyRef("00000000-0000-4000-8000-000000000002", "RL.7.1"),
                             CompetencyRef("00000000-0000-4000-8000-000000000003", "RL.7.2")])
    assert index.by_code("rl.7.1") is None and index.ambiguous_codes == {"rl.7.1"}
    assert index.by_code("RL.7.2") is not None
    crosswalk = Crosswalk([CrosswalkEntry("lms", "a1", "RL.7.1", None, None, 1.0, "xw.csv", 2)])
    resolution = resolve_alignments(ItemFacts("lms", "a1", title="Quiz RL.7.1"),
                                    crosswalk=crosswalk, index=index,
                                    defaults=EvidenceDefaults("teacher_task"))
    assert not resolution.mapped
    assert "used by several competencies" in resolution.problems[0]


def test_exact_percent_cuts_are_not_lost_to_floating_point() -> None:
    from connector.domain.scale import Level, ProficiencyScale
    from connector.mapping.normalise import CutScore, ScoreConversion, to_level

    scale = ProficiencyScale("s", "S", (Level("1", "One", 1), Level("2", "Two", 2)), "2")
    cuts = ScoreConversion((CutScore(0, "1"), CutScore(57, "2")))
    assert 57 / 100 * 100 < 57  # the trap
    assert to_level(57, 100, cuts, scale).code == "2"
    assert to_level(29, 50, ScoreConversion((CutScore(0, "1"), CutScore(58, "2"))), scale).code == "2"


@pytest.mark.parametrize(("text", "level"), [
    ("M", "3"), (" mastered ", "4"), ("IP", "2"),   # the source's own table
    ("Proficient", "3"), ("advanced", "4"), ("1", "1"),  # the scale's labels and codes
])
def test_text_scores_become_levels(text: str, level: str) -> None:
    conversion = ScoreConversion(cuts=(CutScore(0, "1"),),
                                 text_levels={"M": "3", "Mastered": "4", "IP": "2"})
    assert text_to_level(text, conversion, FOUR_POINT).code == level


def test_unknown_text_score_names_what_is_understood() -> None:
    conversion = ScoreConversion(cuts=(CutScore(0, "1"),), text_levels={"M": "3"})
    with pytest.raises(DataError) as caught:
        text_to_level("Excellent", conversion, FOUR_POINT)
    assert "'Excellent' has no level" in caught.value.message
    assert "'M'" in caught.value.message and "'Proficient'" in caught.value.message
    assert "text_levels" in caught.value.message


# --- skill crosswalks through CASE exactMatchOf ---------------------------------------------


def test_a_vendor_skills_standard_code_reaches_the_competency_that_exactly_matches_it() -> None:
    common_core = "c0c0c0c0-0000-4000-8000-000000000001"
    codes = {RP1A_ID: RP1A, RP1B_ID: RP1B, common_core: "6.RP.A.1"}
    aliases = exact_match_aliases(
        [(RP1A_ID, common_core, "Understand the concept of a ratio"),  # code from the import
         (RP1B_ID, "not-imported", "6.RP.A.2"),                        # code from the title
         (RP2_ID, "also-not-imported", "Unit rates and ratios")],      # prose: no alias
        codes)
    index = CompetencyIndex([CompetencyRef(RP1A_ID, RP1A), CompetencyRef(RP1B_ID, RP1B),
                             CompetencyRef(RP2_ID, RP2)], aliases=aliases)
    facts = ItemFacts("ixl", "F.7", "Understand ratios", "Standard 6.RP.A.1")
    resolved = resolve_alignments(facts, crosswalk=Crosswalk([]), index=index,
                                  defaults=EvidenceDefaults("adaptive_practice", 1))
    assert [(a.competency_identifier, a.dok, a.origin) for a in resolved.alignments] == \
        [(RP1A_ID, 1, ORIGIN_CODE)]
    assert index.resolve("6.rp.a.2") == CompetencyRef(RP1B_ID, RP1B)
    assert index.resolve("Unit rates and ratios") is None
    # A crosswalk row may name the standard instead of the district code.
    row = entry("ixl", "G.*", "6.RP.A.2")
    by_row = resolve_alignments(ItemFacts("ixl", "G.2", "Equivalent ratios"),
                                crosswalk=Crosswalk([row]), index=index,
                                defaults=EvidenceDefaults("adaptive_practice", 1))
    assert [a.competency_identifier for a in by_row.alignments] == [RP1B_ID]


def test_an_alias_never_overrides_a_code_and_a_shared_alias_is_ambiguous() -> None:
    index = CompetencyIndex(
        [CompetencyRef(RP1A_ID, RP1A), CompetencyRef(RP1B_ID, RP1B)],
        aliases=[(RP1B, RP1A_ID), ("6.RP.A.3", RP1A_ID), ("6.RP.A.3", RP1B_ID)])
    assert index.resolve(RP1B) == CompetencyRef(RP1B_ID, RP1B)
    assert index.resolve("6.RP.A.3") is None
