"""Calculation methods: one small pure function per method, over values oldest first.

Every function takes the evidence values already on the district scale, in
chronological order (oldest first), and returns a number on that scale before
rounding. Rounding (half up, 2 places) happens once, in the policy layer.
Methods are looked up by the names districts write in their config.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from connector.errors import MasteryError

Method = Callable[..., float]


def most_recent(values: Sequence[float]) -> float:
    """The latest score replaces all earlier ones.

    Degenerate cases: one score returns it; no scores is an error the policy layer
    prevents (it reports insufficient evidence first).

    >>> most_recent([1, 2, 4, 3])
    3
    """
    _need_values(values, "most_recent")
    return values[-1]


def highest(values: Sequence[float]) -> float:
    """The best score ever shown counts (Canvas "highest score").

    >>> highest([1, 4, 2])
    4
    """
    _need_values(values, "highest")
    return max(values)


def mean(values: Sequence[float]) -> float:
    """The arithmetic mean: sum(x) / n. Ignores order.

    >>> mean([4, 3, 2, 1])
    2.5
    """
    _need_values(values, "mean")
    return sum(values) / len(values)


def decaying_average(values: Sequence[float], weight: float = 0.65) -> float:
    """Recursive decaying average: D1 = x1, Dk = w*xk + (1-w)*D(k-1).

    This is Canvas's "decaying average" as computed since 2024 and MasteryConnect's
    and Schoology's (default w = 0.75 there); the newest score carries weight w and
    older ones fade geometrically. ``weight`` is a fraction between 0.5 and 0.99.
    Source: Canvas Community, "What are the calculation methods for outcomes?"

    >>> round(decaying_average([2, 3, 4], 0.65), 2)
    3.53
    >>> round(decaying_average([1, 2, 3, 4], 0.65), 2)
    3.48
    """
    _need_values(values, "decaying_average")
    result = float(values[0])
    for value in values[1:]:
        result = weight * value + (1 - weight) * result
    return result


def _need_values(values: Sequence[float], name: str) -> None:
    if not values:
        raise MasteryError(f"method {name!r} needs at least one piece of evidence")


@dataclass(frozen=True)
class ParameterSpec:
    """A method's parameter: its default and the closed range it accepts."""

    name: str
    default: float
    minimum: float
    maximum: float
    description: str


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: function, parameters, and how to describe it to a reader."""

    name: str
    function: Method
    parameters: tuple[ParameterSpec, ...]
    title: str
    order_sensitive: bool

    def resolve(self, given: Mapping[str, object]) -> dict[str, float]:
        """Validate ``given`` against the spec and fill defaults; errors name the fix."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            allowed = sorted(known) or "none"
            raise MasteryError(
                f"method {self.name!r} does not take parameter(s) {unknown}; it takes: {allowed}",
                field="parameters",
            )
        resolved: dict[str, float] = {}
        for spec in self.parameters:
            raw = given.get(spec.name, spec.default)
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                raise MasteryError(
                    f"method {self.name!r}: parameter {spec.name!r} must be a number: {raw!r}",
                    field="parameters",
                )
            if not spec.minimum <= float(raw) <= spec.maximum:
                raise MasteryError(
                    f"method {self.name!r}: parameter {spec.name!r} must be between "
                    f"{spec.minimum} and {spec.maximum}: {raw}",
                    field="parameters",
                )
            resolved[spec.name] = float(raw)
        return resolved

    def describe(self, parameters: Mapping[str, float]) -> str:
        """Plain-language description for explanations and the transcript letter."""
        if self.name == "decaying_average":
            w = parameters["weight"]
            return (
                f"{self.title}: the newest score counts {w:.0%} and the running average of "
                f"the earlier ones {1 - w:.0%}"
            )
        return self.title


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("most_recent", most_recent, (), "most recent score", order_sensitive=True),
        MethodSpec("highest", highest, (), "highest score", order_sensitive=False),
        MethodSpec("mean", mean, (), "mean of all scores", order_sensitive=False),
        MethodSpec(
            "decaying_average",
            decaying_average,
            (
                ParameterSpec(
                    "weight", 0.65, 0.5, 0.99, "share of the newest score, as a fraction"
                ),
            ),
            "decaying average",
            order_sensitive=True,
        ),
    )
}


def get_method(name: str) -> MethodSpec:
    """Look a method up by its config name; an unknown name lists the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise MasteryError(
            f"unknown mastery method {name!r}; known methods: {sorted(METHODS)}", field="method"
        ) from None
