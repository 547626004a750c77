"""Proficiency scales: ordered levels plus the states that are not levels.

Competency-based districts report "not yet" and "insufficient evidence" as
states, never as a failing number, so a scale carries both its scored levels
and the labels of those states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from connector.errors import ConfigurationError


class MasteryState(StrEnum):
    """What a mastery record holds: a level, or a state that is not a level."""

    LEVEL = "level"
    NOT_YET = "not_yet"
    INSUFFICIENT_EVIDENCE = "insufficient_evidence"
    EXEMPT = "exempt"
    NEEDS_JUDGMENT = "needs_teacher_judgment"


DEFAULT_STATE_LABELS = {
    MasteryState.NOT_YET.value: "Not yet",
    MasteryState.INSUFFICIENT_EVIDENCE.value: "Insufficient evidence",
    MasteryState.EXEMPT.value: "Exempt",
    MasteryState.NEEDS_JUDGMENT.value: "Needs teacher judgment",
}


def round_half_up(value: float, places: int = 2) -> float:
    """Round the way Canvas and most gradebooks do (2.345 -> 2.35), not banker's rounding.

    >>> round_half_up(2.345)
    2.35
    >>> round_half_up(2.5, 0)
    3.0

    Binary floating point leaves formulas a hair off the exact decimal (0.35 * 2.345
    is not exactly 0.82075), so the value is first settled at 9 decimal places and
    only then rounded half up: 4.124999999999999 and 4.125 both give 4.13.

    >>> round_half_up(4.124999999999999)
    4.13
    """
    quantum = Decimal(1).scaleb(-places)
    settled = Decimal(repr(value))
    if abs(value) < 1e12:
        settled = settled.quantize(Decimal("1e-9"))
    return float(settled.quantize(quantum, rounding=ROUND_HALF_UP))


@dataclass(frozen=True)
class Level:
    """One scored level of a proficiency scale (e.g. 3 "Proficient")."""

    code: str
    label: str
    value: float
    description: str = ""

    def __post_init__(self) -> None:
        if not self.code.strip():
            raise ConfigurationError("a scale level needs a non-empty 'code'")
        if not self.label.strip():
            raise ConfigurationError(f"scale level {self.code!r} needs a 'label'")


@dataclass(frozen=True)
class ProficiencyScale:
    """The district's ordered levels, which one means proficient, and state labels.

    Levels are held in ascending order of value. A computed number (already
    rounded half up to 2 places, as Canvas rounds) maps to the highest level whose
    value it reaches, so 2.99 under a 1-4 scale is level 2, not 3.
    """

    key: str
    name: str
    levels: tuple[Level, ...]
    proficient_code: str
    version: str = "1"
    state_labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_STATE_LABELS))

    def __post_init__(self) -> None:
        if not self.levels:
            raise ConfigurationError(f"scale {self.key!r} needs at least one level")
        codes = [lv.code for lv in self.levels]
        if len(set(codes)) != len(codes):
            raise ConfigurationError(f"scale {self.key!r} repeats a level code: {codes}")
        values = [lv.value for lv in self.levels]
        if any(b <= a for a, b in zip(values, values[1:], strict=False)):
            raise ConfigurationError(
                f"scale {self.key!r} levels must be listed lowest first with strictly "
                f"increasing values: {values}"
            )
        if self.proficient_code not in codes:
            raise ConfigurationError(
                f"scale {self.key!r}: proficient level {self.proficient_code!r} is not one "
                f"of its levels {codes}"
            )

    @property
    def min_value(self) -> float:
        return self.levels[0].value

    @property
    def max_value(self) -> float:
        return self.levels[-1].value

    @property
    def proficient(self) -> Level:
        return self.level(self.proficient_code)

    def level(self, code: str) -> Level:
        """The level with this code; a clear error names the codes that exist."""
        for lv in self.levels:
            if lv.code == code:
                return lv
        raise ConfigurationError(
            f"scale {self.key!r} has no level {code!r}; levels are "
            f"{[lv.code for lv in self.levels]}"
        )

    def level_for_value(self, value: float) -> Level:
        """The highest level whose value is at or below ``value`` (the lowest if below all)."""
        chosen = self.levels[0]
        for lv in self.levels:
            if value >= lv.value:
                chosen = lv
        return chosen

    def is_proficient(self, level: Level) -> bool:
        return level.value >= self.proficient.value

    def below(self, level: Level) -> Level:
        """The level one step below ``level`` (the lowest level stays where it is)."""
        idx = self.levels.index(level)
        return self.levels[max(idx - 1, 0)]

    def clamp(self, value: float) -> float:
        return min(max(value, self.min_value), self.max_value)

    def state_label(self, state: MasteryState | str) -> str:
        key = MasteryState(state).value
        return self.state_labels.get(key, DEFAULT_STATE_LABELS.get(key, key))
