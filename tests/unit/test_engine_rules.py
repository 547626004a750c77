"""The engine's selection rules, states and dates: what a district configures beyond the method."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connector.domain.evidence import EvidencePiece, EvidenceType, InputStatus, MasteryResult
from connector.domain.scale import MasteryState
from connector.errors import MasteryError
from connector.mastery.engine import compute_mastery
from connector.mastery.explain import render_steps
from connector.mastery.policy import MasteryPolicy
from tests.strategies import FOUR_POINT

DAY0 = datetime(2025, 9, 2, 15, 0, tzinfo=UTC)
ADAPTIVE = EvidenceType.ADAPTIVE_PRACTICE.value
TEACHER = EvidenceType.TEACHER_TASK.value


def ev(key: str, value: float, day: int, *, dok: int | None = 2, etype: str = TEACHER,
       item: str = "", attempt: int = 1, submitted: int | None = None, due: int | None = None,
       weight: float = 1.0, missing: bool = False) -> EvidencePiece:
    return EvidencePiece(
        key=key, value=value, observed_at=DAY0 + timedelta(days=day), dok=dok, evidence_type=etype,
        item_key=item, attempt=attempt, weight=weight, missing=missing,
        submitted_at=None if submitted is None else DAY0 + timedelta(days=submitted),
        due_at=None if due is None else DAY0 + timedelta(days=due))


def compute(evidence: list[EvidencePiece], target_dok: int | None = None,
            **policy: Any) -> MasteryResult:
    return compute_mastery(evidence, scale=FOUR_POINT, policy=MasteryPolicy(**policy),
                           target_dok=target_dok, engine_version="t")


def codes(result: MasteryResult) -> list[str]:
    return [s.code for s in result.steps]


# ---- the method's own states -------------------------------------------------------------------


def test_n_mastery_not_yet_is_a_state_with_the_reason() -> None:
    result = compute([ev("a", 3, 0), ev("b", 2, 1)], method="n_mastery", parameters={"n": 2})
    assert result.state is MasteryState.NOT_YET
    assert result.level_code is None and result.score is None and not result.proficient
    assert result.level_label == "Not yet"
    assert result.parameters["threshold"] == 3.0  # the scale's proficient level, filled in
    assert '1 of the 2 scores needed reach 3, so the record reads "Not yet"' in result.explanation


def test_tied_mode_with_no_tie_rule_asks_for_teacher_judgment() -> None:
    result = compute([ev("a", 3, 0), ev("b", 2, 1)], method="mode", parameters={"tie": "none"})
    assert result.state is MasteryState.NEEDS_JUDGMENT
    assert result.level_label == "Needs teacher judgment"
    assert "teacher's judgment" in result.explanation


def test_weighted_mean_uses_alignment_and_type_weights() -> None:
    pieces = [ev("a", 2, 0, etype=ADAPTIVE, weight=1), ev("b", 4, 1, etype=TEACHER, weight=1),
              ev("c", 1, 2, etype=TEACHER, weight=0)]
    result = compute(pieces, method="weighted_mean",
                     parameters={"type_weights": {"teacher_task": 3, "adaptive_practice": 1}})
    assert result.score == 3.5  # (2*1 + 4*3 + 1*0) / 4
    assert "teacher task x3" in result.explanation


def test_power_law_fallback_and_clamp_are_explained() -> None:
    few = compute([ev("a", 2, 0), ev("b", 4, 1)], method="power_law")
    assert few.score == 3.0
    assert "fewer than 3 usable scores for a curve, so the mean is used" in few.explanation
    over = compute([ev("a", 1, 0), ev("b", 2, 1), ev("c", 4, 2), ev("d", 4, 3)], method="power_law")
    assert over.score == 4.0
    assert "held within the scale from" in over.explanation


def test_true_score_names_the_winning_model() -> None:
    result = compute([ev(str(i), v, i) for i, v in enumerate([2, 2, 3, 3, 4, 4])],
                     method="true_score")
    assert "the linear trend fits the scores best" in result.explanation
    method_step = next(d for d in result.decisions if d.code == "method")
    assert set(method_step.data["errors"]) == {"average", "linear trend", "power law"}


# ---- ordering ------------------------------------------------------------------------------------


def test_order_by_submitted_or_due_date_changes_what_is_most_recent() -> None:
    # assessed in order a, b; but b was submitted first and a was due last
    pieces = [ev("a", 4, 0, submitted=5, due=9), ev("b", 1, 1, submitted=0, due=2)]
    assert compute(pieces, method="most_recent").score == 1.0
    assert compute(pieces, method="most_recent", parameters={"order_by": "submitted"}).score == 4.0
    assert compute(pieces, method="most_recent", parameters={"order_by": "due"}).score == 4.0


def test_missing_submission_date_falls_back_to_the_assessed_date() -> None:
    pieces = [ev("a", 4, 3), ev("b", 1, 1, submitted=2)]
    result = compute(pieces, method="most_recent", parameters={"order_by": "submitted"})
    assert result.evidence_keys == ("b", "a")
    assert result.score == 4.0


def test_ties_on_every_date_are_broken_by_key() -> None:
    pieces = [ev("k2", 1, 0, submitted=0, due=0), ev("k1", 4, 0, submitted=0, due=0)]
    result = compute(pieces, method="most_recent", parameters={"order_by": "due"})
    assert result.evidence_keys == ("k1", "k2")


# ---- selection rules ----------------------------------------------------------------------------


def test_a_later_attempt_supersedes_earlier_ones_on_the_same_item() -> None:
    pieces = [ev("q1-a1", 1, 0, item="quiz1", attempt=1), ev("q1-a2", 3, 5, item="quiz1", attempt=2),
              ev("q2", 2, 3, item="quiz2")]
    counted = compute(pieces, method="mean")
    assert counted.score == 2.0
    superseded = compute(pieces, method="mean", attempts="supersede")
    assert superseded.score == 2.5
    statuses = {u.key: u.status for u in superseded.inputs}
    assert statuses["q1-a1"] is InputStatus.SUPERSEDED
    assert "1 earlier attempt(s) on the same item are replaced" in superseded.explanation
    assert "[superseded]" in superseded.explanation


def test_attempt_number_wins_over_date_within_an_item() -> None:
    # a regrade of attempt 2 was entered before attempt 1's late score: attempt 2 still counts
    pieces = [ev("a2", 3, 0, item="t", attempt=2), ev("a1", 1, 4, item="t", attempt=1)]
    result = compute(pieces, method="mean", attempts="supersede")
    assert result.score == 3.0


def test_recency_window_is_measured_from_the_newest_evidence() -> None:
    pieces = [ev("old", 1, 0), ev("mid", 3, 300), ev("new", 4, 400)]
    result = compute(pieces, method="mean", recency_days=120)
    assert result.score == 3.5
    assert "1 piece(s) dated before 2026-06-09 fall outside the 120-day window" in result.explanation
    again = compute(pieces, method="mean", recency_days=120)
    assert again == result  # no dependence on today's date


def test_adaptive_practice_can_be_excluded() -> None:
    pieces = [ev("a", 4, 0, etype=ADAPTIVE), ev("t", 2, 1)]
    result = compute(pieces, method="mean", adaptive="exclude")
    assert result.score == 2.0
    assert "1 piece(s) of adaptive practice are shown but do not count" in result.explanation
    alone = compute([ev("a", 4, 0, etype=ADAPTIVE)], method="mean", adaptive="exclude")
    assert alone.state is MasteryState.INSUFFICIENT_EVIDENCE


def test_adaptive_practice_can_be_capped_at_a_level() -> None:
    pieces = [ev("a1", 4, 0, etype=ADAPTIVE), ev("a2", 4, 1, etype=ADAPTIVE)]
    result = compute(pieces, method="highest", adaptive="cap", adaptive_max_level="2",
                     dok_gate=False)
    assert result.score == 2.0 and result.level_code == "2"
    assert "2 piece(s) of adaptive practice count at most as 2 Developing" in result.explanation
    assert "[counted as 2]" in result.explanation
    with_task = compute([*pieces, ev("t", 3, 2)], method="highest", adaptive="cap",
                        adaptive_max_level="2", dok_gate=False)
    assert with_task.level_code == "3"


def test_capping_needs_a_level() -> None:
    with pytest.raises(MasteryError, match="needs 'max_level'"):
        MasteryPolicy(adaptive="cap")


# ---- dates: first evidence and proficient since --------------------------------------------------


# ---- missing work ---------------------------------------------------------------------------


def _with_missing() -> list[EvidencePiece]:
    # Two assessments at 3 and one essay not turned in (stored at the lowest level, 1).
    return [ev("a", 3, 0), ev("essay", 1, 1, missing=True), ev("b", 3, 2)]


def test_missing_work_is_shown_but_not_counted_by_default() -> None:
    result = compute(_with_missing(), method="mean")
    assert result.level_code == "3" and result.score == 3.0 and result.proficient
    assert [u.status for u in result.inputs] == [
        InputStatus.USED, InputStatus.MISSING, InputStatus.USED]
    assert "not turned in, 2025-09-03" in result.explanation
    assert "[missing work, not counted]" in result.explanation
    assert "1 piece(s) of work not turned in are shown but do not count" in result.explanation
    assert "teacher" not in result.explanation.split("not turned in are shown")[1]


def test_missing_work_can_count_at_the_lowest_level() -> None:
    result = compute(_with_missing(), method="mean", missing_work="lowest_level")
    assert result.score == 2.33 and result.level_code == "2"  # (3 + 1 + 3) / 3
    assert result.inputs[1].status is InputStatus.MISSING_AT_LOWEST and result.inputs[1].counted
    assert "count at the lowest level, 1 Beginning" in result.explanation
    assert "[missing work, counted as 1]" in result.explanation


def test_flagged_missing_work_asks_a_teacher_to_look() -> None:
    result = compute(_with_missing(), method="mean", missing_work="flag")
    assert result.score == 3.0
    assert "The district asks a teacher to look at this record." in result.explanation


def test_a_later_attempt_on_missing_work_supersedes_it() -> None:
    pieces = [ev("late", 1, 0, item="essay", missing=True),
              ev("in", 4, 5, item="essay", attempt=2)]
    result = compute(pieces, method="mean", attempts="supersede", missing_work="lowest_level")
    assert result.score == 4.0
    assert [u.status for u in result.inputs] == [InputStatus.SUPERSEDED, InputStatus.USED]


def test_excluded_adaptive_work_stays_out_when_it_is_missing() -> None:
    # Found by the property suite: missing adaptive practice counted at the lowest level
    # although the district excludes adaptive practice altogether.
    pieces = [ev("a", 1, 0, etype=ADAPTIVE, missing=True)]
    alone = compute(pieces, method="highest", adaptive="exclude", missing_work="lowest_level")
    assert alone.state is MasteryState.INSUFFICIENT_EVIDENCE
    assert [u.status for u in alone.inputs] == [InputStatus.EXCLUDED]
    capped = compute([*pieces, ev("t", 3, 1)], method="mean", adaptive="cap",
                     adaptive_max_level="2", missing_work="lowest_level", dok_gate=False)
    assert [u.status for u in capped.inputs] == [InputStatus.MISSING_AT_LOWEST, InputStatus.USED]
    assert capped.score == 2.0


def test_an_unknown_missing_work_rule_is_refused() -> None:
    with pytest.raises(MasteryError, match="'missing_work' must be 'ignore', 'lowest_level'"):
        MasteryPolicy(missing_work="zero")


def test_the_default_rule_keeps_the_policy_versions_named_before_it() -> None:
    assert "missing_work" not in MasteryPolicy().as_dict()
    assert MasteryPolicy(missing_work="flag").version != MasteryPolicy().version


def test_proficient_since_is_the_start_of_the_current_proficient_run() -> None:
    pieces = [ev("a", 1, 0), ev("b", 3, 10), ev("c", 1, 20), ev("d", 3, 30), ev("e", 4, 40)]
    result = compute(pieces, method="most_recent")
    assert result.first_evidence_at == DAY0
    assert result.proficient_since == DAY0 + timedelta(days=30)
    assert result.achieved_at == DAY0 + timedelta(days=40)
    not_yet = compute(pieces[:3], method="most_recent")
    assert not_yet.proficient_since is None


def test_proficient_since_respects_the_dok_gate() -> None:
    pieces = [ev("a", 4, 0, etype=ADAPTIVE, dok=1), ev("b", 3, 10, dok=3), ev("c", 4, 20, dok=1,
                                                                             etype=ADAPTIVE)]
    result = compute(pieces, target_dok=3, method="highest")
    assert result.proficient
    assert result.proficient_since == DAY0 + timedelta(days=10)


# ---- explanations are data rendered by one function ---------------------------------------------


def test_steps_are_the_decisions_rendered() -> None:
    result = compute([ev("a", 4, 0, etype=ADAPTIVE), ev("b", 2, 1)], target_dok=3,
                     method="highest", attempts="supersede")
    again = render_steps(result.inputs, result.decisions, scale=FOUR_POINT, method=result.method,
                         parameters=result.parameters)
    assert again == result.steps
    assert [d.code for d in result.decisions] == codes(result)


def test_merged_override_names_only_what_changes() -> None:
    district = MasteryPolicy(method="decaying_average", parameters={"weight": 0.7}, min_evidence=2)
    framework = district.merged({"min_evidence": 1})
    assert framework.method == "decaying_average" and framework.parameters["weight"] == 0.7
    competency = framework.merged({"method": "highest"})
    assert competency.parameters == {} and competency.min_evidence == 1
    tweaked = district.merged({"parameters": {"order_by": "due"}})
    assert tweaked.parameters == {"weight": 0.7, "order_by": "due"}
    assert len({district.version, framework.version, competency.version, tweaked.version}) == 4
    with pytest.raises(MasteryError, match="unknown policy setting"):
        district.merged({"mthod": "mean"})


def test_every_decision_code_has_a_sentence_and_every_form_uses_the_codes() -> None:
    # One list of codes: the explanations render each, and the batch path's text format
    # (which writes JSON by hand, for speed) names no code outside it.
    import re
    from pathlib import Path

    import connector.persistence.batch_text as batch_text
    from connector.domain.evidence import DecisionCode
    from connector.mastery.explain import RENDERERS

    assert set(RENDERERS) == set(DecisionCode)
    written = set(re.findall(r'"code":"(\w+)"', Path(batch_text.__file__).read_text()))
    assert written and written <= {code.value for code in DecisionCode}


def test_one_record_shape_the_model_the_bulk_writer_and_the_scalar_writer_share() -> None:
    # RECORD_FIELDS is the record's shape; every other form is derived from it or held to it.
    from connector.mastery.record import RECORD_BOOKKEEPING, RECORD_FIELDS, RECORD_KEYS
    from connector.persistence import models as m
    from connector.persistence.bulk_io import RECORD_COLUMNS
    from connector.sync.compute import record_values

    stored = {c.name for c in m.MasteryRecord.__table__.columns} - {"id"}
    assert set(RECORD_COLUMNS) == stored and len(RECORD_COLUMNS) == len(stored)
    assert (*RECORD_KEYS, *RECORD_FIELDS, *RECORD_BOOKKEEPING) == RECORD_COLUMNS
    result = compute([ev("a", 3, 0), ev("b", 2, 1)], method="mean")
    assert tuple(record_values(result, {}, FOUR_POINT, None)) == RECORD_FIELDS
