"""What a student works on next: the progression's order, and what each record still needs."""

from __future__ import annotations

from connector.mastery.next_steps import TargetStatus, next_steps, still_needed
from connector.mastery.progress import Domain

DOMAIN = Domain("MA", "Mathematics", (("6", frozenset({"a", "b", "c"})),
                                      ("7", frozenset({"d", "e"}))))


def status(identifier: str, **given: object) -> TargetStatus:
    return TargetStatus(identifier, f"M.{identifier}", f"statement {identifier}", 2,
                        **given)  # type: ignore[arg-type]


def test_next_steps_skip_what_is_proficient_or_exempt_and_follow_the_levels_upward() -> None:
    statuses = {
        "a": status("a", state="level", level_label="Proficient", proficient=True,
                    evidence_count=3),
        "b": status("b", state="exempt"),
        "c": status("c", state="level", level_label="Developing", evidence_count=2),
        "d": status("d"),
        "e": status("e", state="insufficient_evidence", evidence_count=1,
                    decisions=({"code": "minimum", "count": 1, "needed": 2},)),
    }
    steps = next_steps(DOMAIN, "6", statuses)
    assert [(s.identifier, s.level) for s in steps] == [("c", "6"), ("d", "7"), ("e", "7")]
    assert steps[0].standing == "Developing (2 pieces of evidence so far)"
    assert steps[1].standing == "Not started"
    assert steps[2].needed == "1 more piece of evidence before a level is given."
    assert [s.identifier for s in next_steps(DOMAIN, "6", statuses, shown=1)] == ["c"]
    assert [s.identifier for s in next_steps(DOMAIN, "7", statuses)] == ["d", "e"]


def test_no_working_level_means_nothing_left_to_work_on() -> None:
    assert next_steps(DOMAIN, None, {"a": status("a")}) == []
    assert next_steps(DOMAIN, "9", {"a": status("a")}) == []


def test_what_is_still_needed_reads_the_calculations_own_decisions() -> None:
    capped = status("a", state="level", level_label="Developing", evidence_count=4,
                    decisions=({"code": "method"}, {"code": "dok_gate_capped", "target": 3}))
    assert still_needed(capped).startswith("A teacher-scored task or assessment at DOK 3")
    met = status("a", state="insufficient_evidence", evidence_count=3,
                 decisions=({"code": "minimum", "count": 3, "needed": 3},))
    assert still_needed(met) == "More work at the proficient level at DOK 2 or higher."
    judged = status("a", state="needs_teacher_judgment", evidence_count=2)
    assert "teacher is looking" in still_needed(judged)
    unset = TargetStatus("x", "M.x", "", None)
    assert still_needed(unset) == "No evidence yet: show it on a task."
