"""The methods districts can choose, by the names they write in config, the API and the CLI.

Each method declares its parameters with their kinds, ranges and defaults, so a
district's YAML, a ``--param`` on the command line and a JSON body are all
checked by the same rules and get the same messages. Two parameters belong to
the engine rather than the formula: ``order_by`` (which date orders the
evidence) and ``type_weights`` (how much each evidence type counts); the engine
applies them before the method sees the values.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from connector.domain.evidence import EvidenceType
from connector.errors import MasteryError
from connector.mastery import methods as fn

ParamKind = Literal["fraction", "integer", "choice", "threshold", "type_weights"]
ORDER_KEYS = ("assessed", "submitted", "due")
#: Parameters the engine consumes itself; the method function never receives them.
ENGINE_PARAMETERS = frozenset({"order_by", "type_weights"})


@dataclass(frozen=True)
class ParameterSpec:
    """One parameter: its kind, default and what it accepts."""

    name: str
    kind: ParamKind
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, method: str, raw: Any) -> Any:
        """Validate one value; the message names the method, the parameter and the fix."""
        where = f"method {method!r}: parameter {self.name!r}"
        if self.kind == "choice":
            if raw not in self.choices:
                raise MasteryError(f"{where} must be one of {list(self.choices)}: {raw!r}",
                                   field="parameters")
            return raw
        if self.kind == "type_weights":
            return _check_type_weights(where, raw)
        if self.kind == "threshold" and raw is None:
            return None  # the scale's proficient level, filled in by the engine
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            kind = "a whole number" if self.kind == "integer" else "a number"
            raise MasteryError(f"{where} must be {kind}: {raw!r}", field="parameters")
        if self.kind == "integer":
            if float(raw) != int(raw):
                raise MasteryError(f"{where} must be a whole number: {raw!r}", field="parameters")
            raw = int(raw)
        if self.minimum is not None and self.maximum is not None and not (
                self.minimum <= raw <= self.maximum):
            hint = ""
            if self.kind == "fraction" and raw > 1:
                hint = f" (a fraction: {raw:g}% is {raw / 100:g})"
            raise MasteryError(f"{where} must be between {self.minimum:g} and "
                               f"{self.maximum:g}: {raw:g}{hint}", field="parameters")
        return float(raw) if self.kind != "integer" else raw

    def parse(self, method: str, text: str) -> Any:
        """Read a value typed on the command line (``--param n=3``), then check it."""
        text = text.strip()
        value: Any = text
        if self.kind == "type_weights":
            value = {}
            for part in filter(None, (p.strip() for p in text.replace(";", ",").split(","))):
                name, sep, weight = part.partition(":")
                if not sep:
                    raise MasteryError(f"method {method!r}: parameter 'type_weights' is written "
                                       f"TYPE:WEIGHT,TYPE:WEIGHT: {text!r}", field="parameters")
                value[name.strip()] = _number(weight)
        elif self.kind == "threshold" and text.lower() in ("", "proficient"):
            value = None
        elif self.kind in ("fraction", "integer", "threshold"):
            value = _number(text)
        return self.check(method, value)


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its function, parameters and how to describe it to a reader."""

    name: str
    function: Callable[..., fn.MethodOutcome]
    parameters: tuple[ParameterSpec, ...]
    title: str
    order_sensitive: bool
    uses_weights: bool = False
    describe_with: Callable[[Mapping[str, Any]], str] | None = None

    def resolve(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Validate ``given`` against the spec and fill defaults; errors name the fix."""
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            allowed = sorted(known) or "none"
            raise MasteryError(
                f"method {self.name!r} does not take parameter(s) {unknown}; it takes: {allowed}",
                field="parameters",
            )
        resolved = {p.name: p.check(self.name, given.get(p.name, p.default))
                    for p in self.parameters}
        if self.name == "m_of_n" and resolved["m"] > resolved["n"]:
            raise MasteryError(f"method 'm_of_n': parameter 'm' ({resolved['m']}) cannot exceed "
                               f"'n' ({resolved['n']})", field="parameters")
        return resolved

    def parse(self, pairs: Mapping[str, str]) -> dict[str, Any]:
        """Resolve parameters typed as text (``name=value`` on the command line)."""
        known = {p.name: p for p in self.parameters}
        self.resolve({k: None for k in pairs if k not in known})  # the unknown-name message
        return self.resolve({k: known[k].parse(self.name, v) for k, v in pairs.items()})

    def order_matters(self, parameters: Mapping[str, Any]) -> bool:
        """Whether reordering the evidence can change the result under these parameters."""
        return self.order_sensitive or (self.name == "mode" and parameters.get("tie") == "most_recent")

    def describe(self, parameters: Mapping[str, Any]) -> str:
        """Plain-language description for explanations and the transcript letter."""
        text = self.describe_with(parameters) if self.describe_with else self.title
        order = parameters.get("order_by")
        if order and order != "assessed" and self.order_matters(parameters):
            text += f", with evidence ordered by {ORDER_PHRASE[order]}"
        return text


ORDER_PHRASE = {"assessed": "the date it was assessed", "submitted": "the date it was submitted",
                "due": "its due date"}


def _number(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text


def _check_type_weights(where: str, raw: Any) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise MasteryError(f"{where} must map evidence types to weights", field="parameters")
    known = {t.value for t in EvidenceType}
    out: dict[str, float] = {}
    for name, weight in sorted(raw.items()):
        if name not in known:
            raise MasteryError(f"{where}: unknown evidence type {name!r}; known: {sorted(known)}",
                               field="parameters")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not (
                math.isfinite(weight) and weight >= 0):
            raise MasteryError(f"{where}: weight of {name!r} must be a number >= 0: {weight!r}",
                               field="parameters")
        out[name] = float(weight)
    return out


# ---- parameter declarations -----------------------------------------------------------------


def _order_by() -> ParameterSpec:
    return ParameterSpec("order_by", "choice", "assessed",
                         "which date orders the evidence: assessed, submitted or due",
                         choices=ORDER_KEYS)


def _weight(low: float, default: float) -> ParameterSpec:
    return ParameterSpec("weight", "fraction", default,
                         "share of the newest score, as a fraction", low, 0.99)


def _threshold() -> ParameterSpec:
    return ParameterSpec("threshold", "threshold", None,
                         "score that counts as mastery (default: the proficient level)")


def _count(name: str, default: int, maximum: int, description: str, minimum: int = 1
           ) -> ParameterSpec:
    return ParameterSpec(name, "integer", default, description, minimum, maximum)


_FIT = (
    ParameterSpec("zeros", "choice", "exclude",
                  "zero scores: exclude them from the fit, or count them as 0.5 (floor)",
                  choices=("exclude", "floor")),
    ParameterSpec("fallback", "choice", "mean",
                  "with fewer than 3 usable scores: mean, most_recent or insufficient",
                  choices=("mean", "most_recent", "insufficient")),
)


def _pct(parameters: Mapping[str, Any]) -> tuple[str, str]:
    w = float(parameters["weight"])
    return f"{w:.0%}", f"{1 - w:.0%}"


def _describe_decaying(p: Mapping[str, Any]) -> str:
    new, old = _pct(p)
    return (f"decaying average: the newest score counts {new} and the running average of the "
            f"earlier ones {old}")


def _describe_canvas(p: Mapping[str, Any]) -> str:
    new, old = _pct(p)
    return f"weighted average: the newest score counts {new} and the mean of the earlier ones {old}"


def _describe_threshold(p: Mapping[str, Any]) -> str:
    t = p.get("threshold")
    return "the proficient level" if t is None else f"{t:g}"


def _describe_fit(title: str) -> Callable[[Mapping[str, Any]], str]:
    def describe(p: Mapping[str, Any]) -> str:
        zeros = "zero scores left out" if p["zeros"] == "exclude" else "zero scores counted as 0.5"
        few = {"mean": "the mean", "most_recent": "the most recent score",
               "insufficient": "no level (insufficient evidence)"}[p["fallback"]]
        return f"{title} ({zeros}; with fewer than 3 scores, {few})"
    return describe


def _describe_weighted(p: Mapping[str, Any]) -> str:
    weights = p.get("type_weights") or {}
    if not weights:
        return "weighted mean of all scores, each weighted by its alignment weight"
    listed = ", ".join(f"{k.replace('_', ' ')} x{v:g}" for k, v in sorted(weights.items()))
    return f"weighted mean of all scores, weighted by evidence type ({listed}) and alignment"


_SPECS = (
    MethodSpec("mean", fn.mean, (), "mean of all scores", order_sensitive=False),
    MethodSpec("weighted_mean", fn.weighted_mean,
               (ParameterSpec("type_weights", "type_weights", None,
                              "weight per evidence type (others count 1)"),),
               "weighted mean of all scores", order_sensitive=False, uses_weights=True,
               describe_with=_describe_weighted),
    MethodSpec("median", fn.median, (), "median of all scores", order_sensitive=False),
    MethodSpec("mode", fn.mode,
               (ParameterSpec("tie", "choice", "higher",
                              "when two scores are equally frequent: higher, most_recent or none",
                              choices=("higher", "most_recent", "none")), _order_by()),
               "most frequent score", order_sensitive=False,
               describe_with=lambda p: "most frequent score (a tie goes to " + {
                   "higher": "the higher score)", "most_recent": "the more recent score)",
                   "none": "the teacher's judgment)"}[p["tie"]]),
    MethodSpec("highest", fn.highest, (), "highest score", order_sensitive=False),
    MethodSpec("most_recent", fn.most_recent, (_order_by(),), "most recent score",
               order_sensitive=True),
    MethodSpec("recent_n", fn.recent_n,
               (_count("n", 3, 50, "how many of the most recent scores count"),
                ParameterSpec("aggregate", "choice", "mean", "mean, highest or median of them",
                              choices=("mean", "highest", "median")), _order_by()),
               "most recent scores", order_sensitive=True,
               describe_with=lambda p: f"{p['aggregate']} of the {p['n']} most recent scores"),
    MethodSpec("top_k_mean", fn.top_k_mean, (_count("k", 3, 50, "how many highest scores count"),),
               "mean of the highest scores", order_sensitive=False,
               describe_with=lambda p: f"mean of the {p['k']} highest scores"),
    MethodSpec("n_mastery", fn.n_mastery,
               (_count("n", 5, 10, "scores that must reach the threshold"), _threshold()),
               "n number of times", order_sensitive=False,
               describe_with=lambda p: f"mean of the scores at or above {_describe_threshold(p)}, "
                                       f"once at least {p['n']} scores reach it (until then, not yet)"),
    MethodSpec("canvas_weighted_average", fn.canvas_weighted_average,
               (_weight(0.01, 0.65), _order_by()), "weighted average", order_sensitive=True,
               describe_with=_describe_canvas),
    MethodSpec("decaying_average", fn.decaying_average, (_weight(0.5, 0.65), _order_by()),
               "decaying average", order_sensitive=True, describe_with=_describe_decaying),
    MethodSpec("power_law", fn.power_law, (*_FIT, _order_by()), "power law",
               order_sensitive=True,
               describe_with=_describe_fit("power law trend over attempts, evaluated at the "
                                           "latest attempt")),
    MethodSpec("true_score", fn.true_score, (*_FIT, _order_by()), "true score estimate",
               order_sensitive=True,
               describe_with=_describe_fit("true-score estimate: whichever of the average, a "
                                           "straight-line trend and the power law fits the "
                                           "scores best, at the latest attempt")),
    MethodSpec("m_of_n", fn.m_of_n,
               (_count("m", 4, 50, "correct scores needed in the window"),
                _count("n", 5, 50, "size of the window of most recent scores"),
                _count("k", 0, 50, "or this many correct in a row (0: not used)", minimum=0),
                _threshold(), _order_by()),
               "practice mastery", order_sensitive=True,
               describe_with=lambda p: f"practice mastery: {p['m']} of the last {p['n']} scores "
                                       f"at or above {_describe_threshold(p)}"
                                       + (f", or {p['k']} in a row" if p["k"] else "")),
)

METHODS: dict[str, MethodSpec] = {spec.name: spec for spec in _SPECS}


def get_method(name: str) -> MethodSpec:
    """Look a method up by its config name; an unknown name lists the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise MasteryError(
            f"unknown mastery method {name!r}; known methods: {sorted(METHODS)}", field="method"
        ) from None
