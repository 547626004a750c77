"""How long one record takes when a student has a long stream of evidence (issue 14).

"Proficient since" needs the result on every prefix of the evidence. Assessed
prefix by prefix that was quadratic: 1,000 pieces took 6.6 s and 4,000 took 59 s,
so one adaptive stream, or one API call, could hold a worker for minutes. The
target: 100,000 pieces well under a second for the methods with a one-pass form
(``connector/mastery/prefix.py``: the power law and the true score by estimates,
checked exactly near the threshold; ``connector/mastery/prefix_removal.py`` when
attempts supersede or a recency window drops old pieces). The student here is
proficient from the tenth piece on, the worst case: every prefix is read.

    python bench/bench_proficient_since.py [pieces]
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime, timedelta

from connector.domain.evidence import EvidencePiece
from connector.domain.scale import Level, ProficiencyScale
from connector.mastery.engine import _assess, _proficient_since, compute_mastery, order_key
from connector.mastery.policy import MasteryPolicy
from connector.mastery.registry import METHODS

FOUR_POINT = ProficiencyScale(
    key="four-point", name="Four-point proficiency scale", proficient_code="3",
    levels=(Level("1", "Beginning", 1), Level("2", "Developing", 2),
            Level("3", "Proficient", 3), Level("4", "Advanced", 4)))
METHODS_TIMED = ("mean", "decaying_average", "median", "mode", "recent_n", "m_of_n",
                 "weighted_mean", "power_law", "true_score")
#: Policies whose prefixes lose pieces: each item attempted three times, the later
#: attempt superseding; a 30-day window over pieces a minute apart (69 days in all).
LEAVING = {"supersede": {"attempts": "supersede"}, "30-day window": {"recency_days": 30}}
LEAVING_TIMED = ("mean", "decaying_average", "median", "mode", "recent_n", "m_of_n",
                 "weighted_mean")


def evidence(count: int) -> list[EvidencePiece]:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    pattern = (3.0, 4.0, 3.0, 3.0, 2.0, 4.0, 3.0, 4.0)
    return [EvidencePiece(key=f"e{i}", value=1.0 if i < 9 else pattern[i % len(pattern)],
                          observed_at=start + timedelta(minutes=i), dok=2,
                          evidence_type="common_assessment", item_key=f"i{i // 3}",
                          attempt=i % 3 + 1)
            for i in range(count)]


def measure(count: int = 100_000) -> list[tuple[str, str]]:
    pieces = evidence(count)
    rows = []
    cases = [(method, "", {}) for method in METHODS_TIMED]
    cases += [(method, name, rule) for name, rule in LEAVING.items() for method in LEAVING_TIMED]
    for method, name, rule in cases:
        policy = MasteryPolicy(method=method, parameters=METHODS[method].resolve({}), **rule)
        started = time.perf_counter()
        result = compute_mastery(pieces, scale=FOUR_POINT, policy=policy, target_dok=2,
                                 engine_version="bench")
        elapsed = time.perf_counter() - started
        assert result.proficient_since is not None, method
        since = _since_alone(pieces, policy)
        label = f"`{method}`" + (f", {name}" if name else "")
        rows.append((f"One record, {count:,} pieces, {label}: whole record / proficient since",
                     f"{elapsed:.2f} s / {since:.2f} s"))
    return rows


def _since_alone(pieces: list[EvidencePiece], policy: MasteryPolicy) -> float:
    """The prefix walk by itself, on the evidence already ordered and selected."""
    spec = METHODS[policy.method]
    ordered = sorted(pieces, key=order_key("assessed"))
    uses = _assess(ordered, FOUR_POINT, policy, spec, 2, (1.0, 4.0), record=False).inputs
    started = time.perf_counter()
    _proficient_since(ordered, uses, FOUR_POINT, policy, spec, 2, (1.0, 4.0))
    return time.perf_counter() - started


if __name__ == "__main__":
    for name, value in measure(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000):
        print(f"| {name} | {value} |")
