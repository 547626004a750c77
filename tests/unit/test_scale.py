"""Proficiency scales validate on construction and map numbers to levels without rounding up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum

import pytest

from connector.domain.evidence import EvidencePiece, check_dok
from connector.domain.hashing import content_hash
from connector.domain.scale import Level, MasteryState, ProficiencyScale
from connector.errors import ConfigurationError
from tests.strategies import FOUR_POINT

LEVELS = FOUR_POINT.levels


def make_scale(levels: tuple[Level, ...], proficient: str = "3",
               state_labels: dict[str, str] | None = None) -> ProficiencyScale:
    if state_labels is None:
        return ProficiencyScale("district", "District scale", levels, proficient)
    return ProficiencyScale("district", "District scale", levels, proficient,
                            state_labels=state_labels)


# --- validation --------------------------------------------------------------------------------


def test_duplicate_codes_are_rejected_naming_the_codes() -> None:
    with pytest.raises(ConfigurationError, match=r"repeats a level code: \['1', '2', '2'\]"):
        make_scale((Level("1", "One", 1), Level("2", "Two", 2), Level("2", "Deux", 3)), "2")


@pytest.mark.parametrize("values", [(1, 3, 2), (1, 2, 2), (3, 2, 1)])
def test_values_must_strictly_increase(values: tuple[float, float, float]) -> None:
    levels = tuple(Level(str(i), f"L{i}", v) for i, v in enumerate(values, start=1))
    with pytest.raises(ConfigurationError, match="lowest first with strictly increasing values"):
        make_scale(levels, "2")


def test_unknown_proficient_code_lists_the_levels() -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_scale(LEVELS, "P")
    assert "proficient level 'P'" in str(caught.value)
    assert "['1', '2', '3', '4']" in str(caught.value)


def test_empty_scale_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="at least one level"):
        make_scale((), "3")


@pytest.mark.parametrize(("code", "label", "message"), [
    ("  ", "Proficient", "non-empty 'code'"),
    ("3", " ", "scale level '3' needs a 'label'"),
])
def test_level_needs_code_and_label(code: str, label: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        Level(code, label, 3)


def test_unknown_level_lookup_names_the_codes() -> None:
    with pytest.raises(ConfigurationError, match=r"has no level '5'; levels are \['1', '2', '3', '4'\]"):
        FOUR_POINT.level("5")


# --- mapping numbers to levels ------------------------------------------------------------------


@pytest.mark.parametrize(("value", "code"), [
    (2.99, "2"),  # never rounded up across the proficiency boundary
    (3.0, "3"),
    (3.01, "3"),
    (0.5, "1"),  # below every level: the lowest
    (-3, "1"),
    (1.0, "1"),
    (1.99, "1"),
    (4.0, "4"),
    (9.0, "4"),
])
def test_level_for_value_boundaries(value: float, code: str) -> None:
    assert FOUR_POINT.level_for_value(value).code == code


def test_uneven_scale_maps_to_the_highest_level_reached() -> None:
    scale = make_scale((Level("NY", "Not yet", 0), Level("IP", "In progress", 1.5),
                        Level("P", "Proficient", 2.5), Level("E", "Exemplary", 4)), "P")
    assert [scale.level_for_value(v).code for v in (0, 1.49, 1.5, 2.49, 2.5, 3.99, 4)] == [
        "NY", "NY", "IP", "IP", "P", "P", "E"]
    assert (scale.min_value, scale.max_value) == (0, 4)


def test_proficiency() -> None:
    assert FOUR_POINT.proficient.code == "3"
    assert [FOUR_POINT.is_proficient(lv) for lv in LEVELS] == [False, False, True, True]


def test_below_steps_down_one_and_stops_at_the_lowest() -> None:
    assert FOUR_POINT.below(FOUR_POINT.level("3")).code == "2"
    assert FOUR_POINT.below(FOUR_POINT.level("4")).code == "3"
    assert FOUR_POINT.below(FOUR_POINT.level("1")).code == "1"


def test_clamp() -> None:
    assert [FOUR_POINT.clamp(v) for v in (0, 1, 2.5, 4, 7)] == [1, 1, 2.5, 4, 4]


# --- state labels ---------------------------------------------------------------------------------


def test_state_labels_default() -> None:
    assert FOUR_POINT.state_label(MasteryState.NOT_YET) == "Not yet"
    assert FOUR_POINT.state_label("insufficient_evidence") == "Insufficient evidence"
    assert FOUR_POINT.state_label(MasteryState.EXEMPT) == "Exempt"


def test_state_label_overrides_and_partial_overrides_fall_back() -> None:
    scale = make_scale(LEVELS, state_labels={"not_yet": "Keep going"})
    assert scale.state_label(MasteryState.NOT_YET) == "Keep going"
    assert scale.state_label("not_yet") == "Keep going"
    assert scale.state_label(MasteryState.EXEMPT) == "Exempt"
    # a default instance is not affected by another scale's overrides
    assert FOUR_POINT.state_label(MasteryState.NOT_YET) == "Not yet"


def test_unknown_state_is_an_error() -> None:
    with pytest.raises(ValueError, match="failing"):
        FOUR_POINT.state_label("failing")


# --- evidence validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("dok", [0, 5, -1])
def test_dok_outside_webb_levels_is_rejected(dok: int) -> None:
    with pytest.raises(ValueError, match=f"DOK must be 1, 2, 3 or 4: {dok}"):
        check_dok(dok)


def test_evidence_needs_aware_datetime_and_non_negative_weight() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EvidencePiece("e1", 3, datetime(2024, 1, 1), 2, "teacher_task")  # noqa: DTZ001
    with pytest.raises(ValueError, match="weight must be >= 0"):
        EvidencePiece("e1", 3, datetime(2024, 1, 1, tzinfo=UTC), 2, "teacher_task", weight=-1)
    with pytest.raises(ValueError, match="DOK must be"):
        EvidencePiece("e1", 3, datetime(2024, 1, 1, tzinfo=UTC), 7, "teacher_task")


# --- content hashes ----------------------------------------------------------------------------------


class Colour(Enum):
    RED = "red"


@dataclass(frozen=True)
class Row:
    key: str
    values: tuple[int, ...]


def test_hash_ignores_key_order_and_tuple_vs_list() -> None:
    a = content_hash({"b": 1, "a": [1, 2], "c": {"y": (1,), "x": None}})
    b = content_hash({"c": {"x": None, "y": [1]}, "a": (1, 2), "b": 1})
    assert a == b
    assert len(a) == 64 and int(a, 16) >= 0


def test_hash_changes_when_content_changes() -> None:
    base = content_hash({"score": 3, "items": [1, 2]})
    assert content_hash({"score": 4, "items": [1, 2]}) != base
    assert content_hash({"score": 3, "items": [2, 1]}) != base  # list order is content
    assert content_hash({"score": 3, "items": [1, 2], "extra": None}) != base


def test_hash_of_dataclass_equals_hash_of_its_fields() -> None:
    assert content_hash(Row("r1", (1, 2))) == content_hash({"values": [1, 2], "key": "r1"})
    assert content_hash(Row("r1", (1, 2))) != content_hash(Row("r1", (2, 1)))


def test_hash_handles_dates_enums_sets_and_nested_dataclasses() -> None:
    when = datetime(2024, 9, 3, 12, 0, tzinfo=UTC)
    record = {"at": when, "day": date(2024, 9, 3), "colour": Colour.RED, "tags": {"b", "a"},
              "row": Row("r", (1,))}
    same = {"at": when.isoformat(), "day": "2024-09-03", "colour": "red", "tags": ["a", "b"],
            "row": {"key": "r", "values": [1]}}
    assert content_hash(record) == content_hash(same)
    assert content_hash({"tags": frozenset({"a", "b"})}) == content_hash({"tags": {"b", "a"}})


def test_hash_rejects_unknown_types() -> None:
    with pytest.raises(TypeError, match="cannot hash object"):
        content_hash({"x": object()})
