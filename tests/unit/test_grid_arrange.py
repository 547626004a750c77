"""The class grid's filters and sorts: pure, and never losing a student it was not asked to drop."""

from __future__ import annotations

from connector.domain.scale import Level, ProficiencyScale
from connector.web.classes import arrange, cell_code

SCALE = ProficiencyScale("s", "S", (Level("1", "Beginning", 1), Level("2", "Developing", 2),
                                    Level("3", "Proficient", 3), Level("4", "Advanced", 4)),
                         proficient_code="3")


def test_arrange_filters_and_sorts_without_losing_a_student() -> None:
    scale = SCALE
    grid = {"class": {"id": "c"}, "competencies": [
        {"competency": "a", "code": "X.1", "statement": "Ratios"},
        {"competency": "b", "code": "Y.1", "statement": "Reading"}],
        "students": [
            {"student": "s1", "name": "Ana Zed", "grade": "6",
             "levels": {"a": {"level": "1", "state": "level", "overridden": False}}},
            {"student": "s2", "name": "Bo Young", "grade": "6",
             "levels": {"a": {"level": "3", "state": "level", "overridden": False},
                        "b": {"level": None, "state": "not_yet", "overridden": True}}},
            {"student": "s3", "name": "Cy Adams", "grade": "6", "levels": {}}]}
    by_a = arrange(grid, scale, sort="a")
    assert [r["student"] for r in by_a["students"]] == ["s2", "s1", "s3"]
    assert [r["student"] for r in arrange(grid, scale, sort="a", descending=True)["students"]] \
        == ["s3", "s1", "s2"]
    assert [r["student"] for r in arrange(grid, scale)["students"]] == ["s3", "s2", "s1"]
    assert [c["competency"] for c in arrange(grid, scale, competency="read")["competencies"]] \
        == ["b"]
    assert [r["student"] for r in arrange(grid, scale, level="NY")["students"]] == ["s2"]
    assert arrange(grid, scale, sort="nonsense")["sort"] == "name"
    assert [r["proficient"] for r in arrange(grid, scale)["students"]] == [0, 1, 0]


def test_a_cell_shows_the_level_code_or_the_states_short_code() -> None:
    assert cell_code({"level": "3", "state": "level"}) == "3"
    assert cell_code({"level_code": None, "state": "exempt"}) == "EX"
    assert cell_code(None) == ""
