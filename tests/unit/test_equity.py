"""The equity breakdown: groups as federal reporting counts them, small groups hidden first."""

from __future__ import annotations

from connector.mastery.equity import StudentFacts, breakdown, race_group, suppressed


def student(race: str, proficient: int, paces: tuple[str, ...] = ("on pace",)) -> StudentFacts:
    return StudentFacts({"race": race, "sex": "Female"}, proficient, 10, paces)


def test_a_hidden_group_takes_the_next_smallest_with_it_so_no_count_can_be_worked_out() -> None:
    assert suppressed({"a": 40, "b": 11, "c": 9}, 10) == {"b", "c"}
    assert suppressed({"a": 40, "b": 11, "c": 9, "d": 2}, 10) == {"c", "d"}
    assert suppressed({"a": 9}, 10) == {"a"}
    assert suppressed({"a": 10, "b": 10}, 10) == set()


def test_the_breakdown_counts_only_groups_large_enough_and_their_shares() -> None:
    people = ([student("White", 5)] * 12 + [student("Asian", 8, ("needs support",))] * 10
              + [student("Black or African American", 10)] * 3)
    result = breakdown(people, "race", 10, ["on pace", "needs support"])
    # Black or African American (3) is small; alone it would be derivable, so the next
    # smallest (Asian, 10) is hidden with it.
    assert [(r.group, r.students) for r in result.rows] == [("White", 12)]
    assert result.hidden == 2
    assert result.rows[0].proficient_share == 0.5 and result.rows[0].pace == {"on pace": 1.0}
    wider = breakdown(people, "race", 3, ["on pace", "needs support"])
    assert [(r.group, r.students) for r in wider.rows] == [
        ("Asian", 10), ("Black or African American", 3), ("White", 12)]
    assert wider.pace_labels == ["on pace", "needs support"] and wider.hidden == 0
    assert breakdown(people, "sex", 10).rows[0].students == 25


def test_race_and_ethnicity_count_each_student_once() -> None:
    assert race_group(["blackOrAfricanAmerican"], False) == "Black or African American"
    assert race_group(["blackOrAfricanAmerican"], True) == "Hispanic or Latino"
    assert race_group(["asian", "white"], None) == "Two or more races"
    assert race_group(["demographicRaceTwoOrMoreRaces"], False) == "Two or more races"
    assert race_group(["unknown"], False) == "Not reported"
