"""Hypothesis strategies for the pure core: scales, evidence and mastery policies.

The generated data stays inside what the product accepts from a district: scales
with strictly increasing level values, evidence whose values are on the scale
and whose datetimes are timezone-aware UTC, and policies that pass validation.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import strategies as st

from connector.domain.evidence import DOK_LEVELS, EvidencePiece, EvidenceType
from connector.domain.scale import Level, ProficiencyScale
from connector.mastery.policy import DEFAULT_QUALIFYING_TYPES, MasteryPolicy
from connector.mastery.registry import METHODS

EVIDENCE_TYPES: tuple[str, ...] = tuple(t.value for t in EvidenceType)
FIRST_DAY = datetime(2020, 8, 1)  # noqa: DTZ001 - hypothesis wants naive bounds; tz is added below
LAST_DAY = datetime(2030, 6, 30)  # noqa: DTZ001

FOUR_POINT = ProficiencyScale(
    key="four-point",
    name="Four-point proficiency scale",
    levels=(
        Level("1", "Beginning", 1),
        Level("2", "Developing", 2),
        Level("3", "Proficient", 3),
        Level("4", "Advanced", 4),
    ),
    proficient_code="3",
)


@st.composite
def random_scales(draw: st.DrawFn) -> ProficiencyScale:
    """A scale of 2-6 levels with strictly increasing values (steps of 0.5 or more).

    The proficient level may be the lowest one (a "Met / Exceeds" scale): then a
    failed DOK gate must give "not yet", which the properties check.
    """
    count = draw(st.integers(min_value=2, max_value=6))
    start = draw(st.integers(min_value=0, max_value=4)) / 2
    steps = draw(st.lists(st.integers(min_value=1, max_value=4), min_size=count - 1, max_size=count - 1))
    values = [start]
    for step in steps:
        values.append(values[-1] + step / 2)
    levels = tuple(Level(f"L{i}", f"Level {i}", value) for i, value in enumerate(values))
    proficient = draw(st.sampled_from(levels))
    return ProficiencyScale(
        key="generated", name="Generated scale", levels=levels, proficient_code=proficient.code
    )


def scales() -> st.SearchStrategy[ProficiencyScale]:
    """The district's usual 1-4 scale, or a generated one."""
    return st.one_of(st.just(FOUR_POINT), random_scales())


def values_on(scale: ProficiencyScale) -> st.SearchStrategy[float]:
    """A score on ``scale``: mostly a level value, sometimes anything between min and max."""
    return st.one_of(
        st.sampled_from([lv.value for lv in scale.levels]),
        st.floats(min_value=scale.min_value, max_value=scale.max_value, allow_nan=False),
    )


def utc_datetimes() -> st.SearchStrategy[datetime]:
    """Timezone-aware UTC datetimes within a plausible span of school years."""
    return st.datetimes(min_value=FIRST_DAY, max_value=LAST_DAY, timezones=st.just(UTC))


def doks() -> st.SearchStrategy[int | None]:
    return st.one_of(st.none(), st.sampled_from(DOK_LEVELS))


@st.composite
def evidence_pieces(draw: st.DrawFn, scale: ProficiencyScale, key: str) -> EvidencePiece:
    """One piece of evidence on ``scale`` with the given key."""
    return EvidencePiece(
        key=key,
        value=draw(values_on(scale)),
        observed_at=draw(utc_datetimes()),
        dok=draw(doks()),
        evidence_type=draw(st.sampled_from(EVIDENCE_TYPES)),
        weight=draw(st.sampled_from([0.0, 0.5, 1.0, 1.0, 2.0])),
        item_key=draw(st.sampled_from(["", "item-a", "item-b", "item-c"])),
        attempt=draw(st.integers(min_value=1, max_value=3)),
        submitted_at=draw(st.one_of(st.none(), utc_datetimes())),
        due_at=draw(st.one_of(st.none(), utc_datetimes())),
        missing=draw(st.sampled_from([False, False, False, True])),
    )


@st.composite
def evidence_lists(
    draw: st.DrawFn, scale: ProficiencyScale, min_size: int = 0, max_size: int = 8
) -> list[EvidencePiece]:
    """Evidence with unique keys, in no particular order (as rows come from a database)."""
    size = draw(st.integers(min_value=min_size, max_value=max_size))
    return [draw(evidence_pieces(scale, key=f"ev-{i:02d}")) for i in range(size)]


@st.composite
def method_parameters(draw: st.DrawFn, method: str) -> dict[str, object]:
    """Valid parameters for ``method``: each drawn from what its kind accepts."""
    drawn: dict[str, object] = {}
    for spec in METHODS[method].parameters:
        if spec.kind == "fraction":
            assert spec.minimum is not None and spec.maximum is not None
            drawn[spec.name] = draw(st.floats(min_value=spec.minimum, max_value=spec.maximum,
                                              allow_nan=False))
        elif spec.kind == "integer":
            assert spec.minimum is not None and spec.maximum is not None
            drawn[spec.name] = draw(st.integers(min_value=int(spec.minimum),
                                                max_value=min(int(spec.maximum), 8)))
        elif spec.kind == "choice":
            drawn[spec.name] = draw(st.sampled_from(spec.choices))
        elif spec.kind == "type_weights":
            drawn[spec.name] = draw(st.dictionaries(st.sampled_from(EVIDENCE_TYPES),
                                                    st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0])))
        # "threshold" stays at its default: the scale's proficient level
    if method == "m_of_n" and int(drawn["m"]) > int(drawn["n"]):  # type: ignore[call-overload]
        drawn["m"], drawn["n"] = drawn["n"], drawn["m"]
    return drawn


@st.composite
def policies(draw: st.DrawFn, scale: ProficiencyScale = FOUR_POINT,
             max_min_evidence: int = 3) -> MasteryPolicy:
    """A valid MasteryPolicy: any registered method and parameters, any selection rules."""
    method = draw(st.sampled_from(sorted(METHODS)))
    qualifying = draw(
        st.one_of(
            st.just(DEFAULT_QUALIFYING_TYPES),
            st.frozensets(st.sampled_from(EVIDENCE_TYPES), min_size=1),
        )
    )
    adaptive = draw(st.sampled_from(["count", "cap", "exclude"]))
    return MasteryPolicy(
        method=method,
        parameters=draw(method_parameters(method)),
        min_evidence=draw(st.integers(min_value=1, max_value=max_min_evidence)),
        recency_days=draw(st.one_of(st.none(), st.integers(min_value=1, max_value=900))),
        attempts=draw(st.sampled_from(["all", "supersede"])),
        dok_gate=draw(st.booleans()),
        qualifying_evidence_types=qualifying,
        adaptive=adaptive,
        adaptive_max_level=draw(st.sampled_from(scale.levels)).code if adaptive == "cap" else None,
        missing_work=draw(st.sampled_from(["ignore", "lowest_level", "flag"])),
    )
