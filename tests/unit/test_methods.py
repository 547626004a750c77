"""Calculation methods reproduce published reference values and reject bad parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from connector.domain.scale import MasteryState, round_half_up
from connector.errors import MasteryError
from connector.mastery.methods import (
    Undetermined,
    decaying_average,
    fit_true_score,
    highest,
    mean,
    median,
    most_recent,
    power_law,
    true_score,
)
from connector.mastery.registry import METHODS, get_method

# Sources cited below:
#   Canvas blog    = Canvas Community Product Blog, "Canvas Outcomes: New and Updated Proficiency
#                    Calculations" (recursive decaying average, default 65%; old one renamed
#                    "Weighted Average")
#   Canvas Guides  = Canvas Community, "What calculation methods are available for outcomes?"
#   Canvas source  = instructure/canvas-lms app/models/rollup_score.rb (n_mastery: mean of every
#                    score at or above mastery once n of them reach it)
#   JumpRope       = JumpRope support, "The power of the Power Law" (worked examples table)
#   MasteryConnect = Canvas Community, "How is the decaying average calculated in Mastery Connect"
#                    (1,2,3,4 at 65% -> 3.48; ties in mode go to the higher level)
#   Educate        = Educate SIS help, "Standards based grading calculations" ("Average of 3
#                    Highest": 4+4+3 = 11/3 = 3.67; mode ties by most recent)
#   Rediker        = Rediker support: a tied mode "requires the teacher's judgement"
GOLDEN: list[tuple[str, Sequence[float], dict[str, Any], float]] = [
    # Source: JumpRope power-law table - a steady climb is predicted exactly at attempt 4
    ("power_law", [1, 2, 3, 4], {}, 4.00),
    # Source: JumpRope power-law table
    ("power_law", [1, 3, 2, 4], {}, 3.66),
    # Source: JumpRope power-law table
    ("power_law", [2, 4, 1, 3], {}, 2.16),
    # Source: JumpRope power-law table - a decline is predicted below the mean (2.5)
    ("power_law", [4, 3, 2, 1], {}, 1.28),
    # Source: mrmathman.com "Power failure" calculator examples: 3-3-1-3 = 1.90
    ("power_law", [3, 3, 1, 3], {}, 1.90),
    # Source: mrmathman.com "Power failure" calculator examples: 3-3-1-3-4-4 = 3.07
    ("power_law", [3, 3, 1, 3, 4, 4], {}, 3.07),
    # Source: Canvas Guides "Weighted Average" - 0.65*5 + 0.35*mean(1,2,3,4) = 4.125 -> 4.13
    ("canvas_weighted_average", [1, 2, 3, 4, 5], {"weight": 0.65}, 4.13),
    # Source: Canvas Guides "Weighted Average" at 1% - 0.01*4 + 0.99*1 = 1.03
    ("canvas_weighted_average", [1, 4], {"weight": 0.01}, 1.03),
    # Source: Canvas blog (recursive formula) - D = 2; 0.65*3 + 0.35*2 = 2.65; 0.65*4 + 0.35*2.65
    ("decaying_average", [2, 3, 4], {"weight": 0.65}, 3.53),
    # Source: MasteryConnect worked example - 1; 1.65; 2.5275; 3.484625
    ("decaying_average", [1, 2, 3, 4], {"weight": 0.65}, 3.48),
    # Source: issue 3 "Why" - 4,3,2,1 at 65% -> 1.52
    ("decaying_average", [4, 3, 2, 1], {"weight": 0.65}, 1.52),
    # Source: Canvas blog, default parameter - same as the first row with the weight left out
    ("decaying_average", [2, 3, 4], {}, 3.53),
    # Source: Schoology default w = 0.75 - 0.75*4 + 0.25*1 = 3.25
    ("decaying_average", [1, 4], {"weight": 0.75}, 3.25),
    # Source: Educate "Average of 3 Highest" - (4+4+3)/3
    ("top_k_mean", [4, 4, 3], {"k": 3}, 3.67),
    # Source: definition - the two highest of 1,4,2,3 are 4 and 3
    ("top_k_mean", [1, 4, 2, 3], {"k": 2}, 3.5),
    # Source: Canvas source n_mastery - 3 scores reach 3 (3, 4, 3): their mean 3.33; the 1 is ignored
    ("n_mastery", [3, 1, 4, 3], {"n": 3, "threshold": 3}, 3.33),
    # Source: Canvas source n_mastery - every qualifying score counts, not just n of them
    ("n_mastery", [4, 3, 4, 3, 2], {"n": 2, "threshold": 3}, 3.5),
    # Source: issue 3 "Why" - mean 2.5, highest 4 for 4,3,2,1
    ("mean", [4, 3, 2, 1], {}, 2.5),
    ("highest", [4, 3, 2, 1], {}, 4.0),
    # Source: arithmetic mean - (3+3+4)/3 = 3.333... rounds half up to 3.33
    ("mean", [3, 3, 4], {}, 3.33),
    # Source: Canvas Guides "Most Recent Score" - the latest score, not the best one
    ("most_recent", [4, 3, 2, 1], {}, 1.0),
    ("most_recent", [1, 2, 4, 3], {}, 3.0),
    # Source: median definition - even count averages the middle two (2 and 3)
    ("median", [4, 1, 3, 2], {}, 2.5),
    ("median", [1, 4, 4], {}, 4.0),
    # Source: MasteryConnect - a tied mode goes to the higher level
    ("mode", [2, 3, 3, 2], {"tie": "higher"}, 3.0),
    # Source: Educate - a tied mode goes to the more recent score
    ("mode", [3, 2, 2, 3, 2, 3], {"tie": "most_recent"}, 3.0),
    ("mode", [3, 3, 2, 2], {"tie": "most_recent"}, 2.0),
    ("mode", [1, 2, 2, 4], {"tie": "none"}, 2.0),
    # Source: Rediker "Mean of Most Recent [x]" - mean of 3, 4, 4
    ("recent_n", [1, 1, 3, 4, 4], {"n": 3}, 3.67),
    # Source: Rediker "Highest of Most Recent [x]" - highest of 3, 1, 2 (the 4 is older)
    ("recent_n", [4, 3, 1, 2], {"n": 3, "aggregate": "highest"}, 3.0),
    ("recent_n", [4, 1, 3, 2], {"n": 3, "aggregate": "median"}, 2.0),
    # Source: weighted mean definition - (2*1 + 4*3) / 4
    ("weighted_mean", [2, 4], {}, 3.5),
    # Source: definition - m of n: 4 of the last 5 (3,3,1,3,3) reach 3; mastery certifies 3
    ("m_of_n", [1, 3, 3, 1, 3, 3], {"m": 4, "n": 5, "threshold": 3}, 3.0),
    # Source: Marzano true score - a straight climb is fitted exactly by the line: 4 at attempt 4
    ("true_score", [1, 2, 3, 4], {}, 4.0),
    # Source: Marzano true score - flat scores are best described by their average
    ("true_score", [3, 3, 3], {}, 3.0),
]


def calculate(method: str, values: Sequence[float], params: dict[str, Any]) -> Any:
    spec = get_method(method)
    resolved = {k: v for k, v in spec.resolve(params).items() if k not in ("order_by", "type_weights")}
    if "threshold" in resolved and resolved["threshold"] is None:
        resolved["threshold"] = 3.0
    if spec.uses_weights:
        resolved["weights"] = [1.0, 3.0] if len(values) == 2 else [1.0] * len(values)
    return spec.function(values, **resolved)


@pytest.mark.parametrize(("method", "values", "params", "expected"), GOLDEN)
def test_golden_values(method: str, values: Sequence[float], params: dict[str, Any],
                       expected: float) -> None:
    result = calculate(method, values, params)
    assert not isinstance(result, Undetermined)
    assert round_half_up(result) == expected


def test_the_registry_has_exactly_the_methods_districts_name() -> None:
    assert sorted(METHODS) == sorted([
        "mean", "weighted_mean", "median", "mode", "highest", "most_recent", "recent_n",
        "top_k_mean", "n_mastery", "canvas_weighted_average", "decaying_average", "power_law",
        "true_score", "m_of_n"])


# ---- states instead of numbers ------------------------------------------------------------------


UNDETERMINED: list[tuple[str, Sequence[float], dict[str, Any], MasteryState, str]] = [
    # Source: Canvas source n_mastery - fewer than n scores at mastery gives no result (not yet)
    ("n_mastery", [3, 2, 4], {"n": 3, "threshold": 3}, MasteryState.NOT_YET, "2 of the 3"),
    # Source: Canvas source n_mastery - fewer results than n at all
    ("n_mastery", [4], {"n": 2, "threshold": 3}, MasteryState.NOT_YET, "1 of the 2"),
    # Source: Rediker - a tied mode requires the teacher's judgement
    ("mode", [3, 2, 2, 3], {"tie": "none"}, MasteryState.NEEDS_JUDGMENT, "scores 2, 3 each occur 2"),
    ("m_of_n", [3, 3, 1, 3], {"m": 4, "n": 5, "threshold": 3}, MasteryState.NOT_YET,
     "3 of the last 4 reach 3"),
    ("power_law", [2, 3], {"fallback": "insufficient"}, MasteryState.INSUFFICIENT_EVIDENCE,
     "2 usable score(s)"),
    ("power_law", [0, 2, 3], {"fallback": "insufficient"}, MasteryState.INSUFFICIENT_EVIDENCE,
     "2 usable score(s)"),
    ("true_score", [4], {"fallback": "insufficient"}, MasteryState.INSUFFICIENT_EVIDENCE,
     "1 score(s)"),
]


@pytest.mark.parametrize(("method", "values", "params", "state", "reason"), UNDETERMINED)
def test_methods_answer_with_a_state_and_reason(method: str, values: Sequence[float],
                                                params: dict[str, Any], state: MasteryState,
                                                reason: str) -> None:
    result = calculate(method, values, params)
    assert isinstance(result, Undetermined)
    assert result.state is state
    assert reason in result.reason


def test_weighted_mean_with_no_weight_at_all_is_insufficient() -> None:
    result = get_method("weighted_mean").function([3.0, 4.0], weights=[0.0, 0.0])
    assert isinstance(result, Undetermined)
    assert result.state is MasteryState.INSUFFICIENT_EVIDENCE


def test_m_of_n_streak_alone_can_meet_the_criterion() -> None:
    spec = get_method("m_of_n")
    # only 3 of the last 5 reach 3, but the last 3 are in a row
    assert spec.function([1, 1, 3, 3, 3], m=4, n=5, k=3, threshold=3) == 3
    assert isinstance(spec.function([1, 1, 3, 3, 3], m=4, n=5, k=0, threshold=3), Undetermined)
    assert isinstance(spec.function([3, 3, 3, 1], m=4, n=5, k=3, threshold=3), Undetermined)


# ---- the fitted curves ---------------------------------------------------------------------------


def test_power_law_falls_back_with_fewer_than_three_scores() -> None:
    assert power_law([2, 4]) == 3.0  # default fallback: the mean
    assert power_law([2, 4], fallback="most_recent") == 4


def test_power_law_zero_scores_are_excluded_or_floored() -> None:
    # excluded: attempts 2, 3, 4 keep their numbers; floored: 0 counts as 0.5
    excluded = power_law([0, 2, 3, 4], zeros="exclude")
    floored = power_law([0, 2, 3, 4], zeros="floor")
    assert isinstance(excluded, float) and isinstance(floored, float)
    assert round_half_up(excluded) == 4.00
    assert floored > excluded  # a steeper climb from 0.5 predicts more at attempt 4
    with pytest.raises(MasteryError, match="0 or more"):
        power_law([-1, 2, 3])


def test_power_law_can_overshoot_the_scale_before_the_engine_clamps_it() -> None:
    # Source: PowerSchool Learning "What is the Power Law?" - the fit can exceed every score
    result = power_law([1, 2, 4, 4])
    assert isinstance(result, float) and result > 4


def test_true_score_picks_the_model_with_the_smallest_error() -> None:
    fits = fit_true_score([2, 2, 3, 3, 4, 4])
    assert fits[0].model == "linear trend"
    assert [f.error for f in fits[1:]] == sorted(f.error for f in fits[1:])
    assert fits[0].error <= min(f.error for f in fits[1:])
    noisy = fit_true_score([3, 1, 3, 1, 3, 1, 3])
    assert noisy[0].model == "average"
    assert round_half_up(true_score([3, 1, 3, 1, 3, 1, 3])) == round_half_up(noisy[0].value)


def test_true_score_ignores_power_law_when_zeros_cannot_be_fitted() -> None:
    fits = fit_true_score([0, 0, 1])
    assert "power law" not in [f.model for f in fits]


# ---- rounding ----------------------------------------------------------------------------------

ROUNDING: list[tuple[float, int, float]] = [
    # Source: DESIGN.md section 4 "round half up at the end, 2 places, as Canvas does"
    (2.345, 2, 2.35),
    # Source: half up, not banker's rounding (round(2.5) == 2 in Python)
    (2.5, 0, 3.0),
    # Source: half up on the decimal text; float 2.675 is 2.67499999... in binary
    (2.675, 2, 2.68),
    # Source: half up on the decimal text; round(1.005, 2) == 1.0 in Python
    (1.005, 2, 1.01),
    # Source: below the half stays down
    (3.484625, 2, 3.48),
    # Source: the float error in 3.5275000000000003 does not matter
    (3.5275000000000003, 2, 3.53),
    # Source: a float a hair below the exact half (4.125 computed as 4.1249999...) still rounds up
    (4.124999999999999, 2, 4.13),
    # Source: 2.99 must not become 3 at two places (proficiency is not rounded into)
    (2.994, 2, 2.99),
]


@pytest.mark.parametrize(("value", "places", "expected"), ROUNDING)
def test_round_half_up(value: float, places: int, expected: float) -> None:
    assert round_half_up(value, places) == expected


def test_raw_decaying_average_is_recursive_not_canvas_weighted_average() -> None:
    # Source: Canvas blog - the old "decaying average" (now "Weighted Average") would give
    # 0.65*4 + 0.35*mean(1, 2, 3) = 3.3; the recursive one gives 3.484625.
    assert decaying_average([1, 2, 3, 4], 0.65) == pytest.approx(3.484625)
    assert decaying_average([1, 2, 3, 4], 0.65) != pytest.approx(3.3)
    assert calculate("canvas_weighted_average", [1, 2, 3, 4], {}) == pytest.approx(3.3)


@pytest.mark.parametrize("function", [most_recent, highest, mean, median, decaying_average])
def test_no_evidence_is_an_error_naming_the_method(function: Callable[..., float]) -> None:
    with pytest.raises(MasteryError, match=function.__name__):
        function([])


@pytest.mark.parametrize("name", sorted(METHODS))
def test_one_score_returns_that_score_or_a_state(name: str) -> None:
    result = calculate(name, [2.5], {})
    if isinstance(result, Undetermined):
        # n_mastery and m_of_n need several scores at the threshold; 2.5 is below 3 anyway
        assert name in ("n_mastery", "m_of_n")
        assert result.state is MasteryState.NOT_YET
    else:
        assert result == 2.5


# ---- parameters ----------------------------------------------------------------------------------


@pytest.mark.parametrize("weight", [0.3, 1.0, 0.49, 1.5, -0.65])
def test_decaying_weight_out_of_range_names_the_range(weight: float) -> None:
    with pytest.raises(MasteryError) as caught:
        get_method("decaying_average").resolve({"weight": weight})
    message = str(caught.value)
    assert "'weight'" in message
    assert "between 0.5 and 0.99" in message
    assert f"{weight:g}" in message


def test_a_percent_given_for_a_fraction_gets_a_hint() -> None:
    with pytest.raises(MasteryError, match=r"a fraction: 65% is 0.65"):
        get_method("decaying_average").resolve({"weight": 65})


def test_canvas_weighted_average_accepts_1_to_99_percent() -> None:
    spec = get_method("canvas_weighted_average")
    assert spec.resolve({"weight": 0.01})["weight"] == 0.01
    with pytest.raises(MasteryError, match="between 0.01 and 0.99"):
        spec.resolve({"weight": 0.005})


@pytest.mark.parametrize("weight", [0.5, 0.99, 0.75])
def test_decaying_weight_range_is_closed(weight: float) -> None:
    assert get_method("decaying_average").resolve({"weight": weight})["weight"] == weight


@pytest.mark.parametrize("weight", ["0.65", True, None])
def test_decaying_weight_must_be_a_number(weight: object) -> None:
    with pytest.raises(MasteryError, match="'weight' must be a number"):
        get_method("decaying_average").resolve({"weight": weight})


def test_defaults_are_filled_in() -> None:
    assert get_method("decaying_average").resolve({}) == {"weight": 0.65, "order_by": "assessed"}
    assert get_method("n_mastery").resolve({}) == {"n": 5, "threshold": None}
    assert get_method("mode").resolve({})["tie"] == "higher"
    assert get_method("power_law").resolve({})["fallback"] == "mean"


@pytest.mark.parametrize(("method", "params", "message"), [
    ("recent_n", {"n": 0}, "'n' must be between 1 and 50: 0"),
    ("recent_n", {"n": 2.5}, "'n' must be a whole number: 2.5"),
    ("n_mastery", {"n": 11}, "'n' must be between 1 and 10: 11"),
    ("mode", {"tie": "lower"}, "'tie' must be one of ['higher', 'most_recent', 'none']: 'lower'"),
    ("most_recent", {"order_by": "graded"}, "'order_by' must be one of"),
    ("m_of_n", {"m": 6, "n": 5}, "'m' (6) cannot exceed 'n' (5)"),
    ("recent_n", {"aggregate": "mode"}, "'aggregate' must be one of"),
    ("weighted_mean", {"type_weights": {"portfolio": 2}}, "unknown evidence type 'portfolio'"),
    ("weighted_mean", {"type_weights": {"performance_task": -1}}, "must be a number >= 0"),
    ("n_mastery", {"threshold": "high"}, "'threshold' must be a number"),
])
def test_bad_parameters_say_what_to_fix(method: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(MasteryError) as caught:
        get_method(method).resolve(params)
    assert message in str(caught.value)


def test_parameters_typed_on_the_command_line_are_parsed_by_kind() -> None:
    assert get_method("recent_n").parse({"n": "4", "aggregate": "median"})["n"] == 4
    assert get_method("n_mastery").parse({"threshold": "proficient"})["threshold"] is None
    assert get_method("n_mastery").parse({"threshold": "3.5"})["threshold"] == 3.5
    weights = get_method("weighted_mean").parse(
        {"type_weights": "performance_task:2,adaptive_practice:0.5"})["type_weights"]
    assert weights == {"adaptive_practice": 0.5, "performance_task": 2.0}
    with pytest.raises(MasteryError, match="TYPE:WEIGHT"):
        get_method("weighted_mean").parse({"type_weights": "performance_task"})
    with pytest.raises(MasteryError, match=r"does not take parameter\(s\) \['decay'\]"):
        get_method("decaying_average").parse({"decay": "0.2"})


def test_unknown_parameter_lists_the_ones_the_method_takes() -> None:
    with pytest.raises(MasteryError) as caught:
        get_method("decaying_average").resolve({"weight": 0.7, "decay": 0.2})
    message = str(caught.value)
    assert "['decay']" in message
    assert "it takes: ['order_by', 'weight']" in message


def test_parameter_for_a_method_without_parameters_says_none() -> None:
    with pytest.raises(MasteryError, match="it takes: none"):
        get_method("highest").resolve({"weight": 0.65})


def test_unknown_method_lists_known_methods() -> None:
    with pytest.raises(MasteryError) as caught:
        get_method("n_times")
    message = str(caught.value)
    assert "'n_times'" in message
    assert str(sorted(METHODS)) in message


def test_order_sensitivity_flags_match_the_definitions() -> None:
    rising = [1.0, 1.0, 1.0, 2.0, 4.0, 4.0, 3.0, 4.0]
    falling = list(reversed(rising))
    for name, spec in METHODS.items():
        params = spec.resolve({})
        a, b = calculate(name, rising, params), calculate(name, falling, params)
        differs = a != b
        assert differs == spec.order_matters(params), name
    assert get_method("mode").order_matters({"tie": "most_recent"})


def test_descriptions_state_the_parameters() -> None:
    spec = get_method("decaying_average")
    text = spec.describe(spec.resolve({"weight": 0.75}))
    assert "decaying average" in text and "75%" in text and "25%" in text
    assert get_method("mean").describe({}) == "mean of all scores"
    assert "3 most recent" in get_method("recent_n").describe(get_method("recent_n").resolve({}))
    assert "ordered by its due date" in spec.describe(spec.resolve({"order_by": "due"}))
    assert "teacher's judgment" in get_method("mode").describe({"tie": "none"})
    pl = get_method("power_law")
    assert "fewer than 3 scores, the mean" in pl.describe(pl.resolve({}))
