"""Calculation methods reproduce the vendors' reference values and reject bad parameters."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest

from connector.domain.scale import round_half_up
from connector.errors import MasteryError
from connector.mastery.methods import (
    METHODS,
    decaying_average,
    get_method,
    highest,
    mean,
    most_recent,
)

# Sources cited below:
#   Canvas blog   = Canvas Community Product Blog, "Canvas Outcomes: New and Updated Proficiency
#                   Calculations Coming Soon" (recursive decaying average, default 65%)
#   Canvas Guides = Canvas Community, "What calculation methods are available for outcomes?"
GOLDEN: list[tuple[str, Sequence[float], dict[str, float], float]] = [
    # Source: Canvas blog (recursive formula) - D = 2; 0.65*3 + 0.35*2 = 2.65; 0.65*4 + 0.35*2.65 = 3.5275
    ("decaying_average", [2, 3, 4], {"weight": 0.65}, 3.53),
    # Source: Canvas blog (recursive formula) - 1; 1.65; 2.5275; 0.65*4 + 0.35*2.5275 = 3.484625
    ("decaying_average", [1, 2, 3, 4], {"weight": 0.65}, 3.48),
    # Source: Canvas blog, default parameter - same as the first row with the weight left out
    ("decaying_average", [2, 3, 4], {}, 3.53),
    # Source: Schoology/MasteryConnect default w = 0.75 - 0.75*4 + 0.25*1 = 3.25
    ("decaying_average", [1, 4], {"weight": 0.75}, 3.25),
    # Source: formula degenerate case - one score is the average itself
    ("decaying_average", [3], {"weight": 0.65}, 3.0),
    # Source: formula at w = 0.5 - 4; 0.5*1 + 0.5*4 = 2.5; 0.5*1 + 0.5*2.5 = 1.75 (newer lows pull down)
    ("decaying_average", [4, 1, 1], {"weight": 0.5}, 1.75),
    # Source: Canvas Guides, "Most Recent Score" - the latest score, not the best one
    ("most_recent", [4, 3, 2, 1], {}, 1.0),
    # Source: Canvas Guides, "Most Recent Score" - a late reassessment replaces earlier lows
    ("most_recent", [1, 2, 4, 3], {}, 3.0),
    # Source: Canvas Guides, "Highest Score" - the best score ever shown counts
    ("highest", [4, 3, 2, 1], {}, 4.0),
    # Source: Canvas Guides, "Highest Score" - position does not matter
    ("highest", [1, 2, 3.5, 2], {}, 3.5),
    # Source: arithmetic mean sum(x)/n - (4+3+2+1)/4
    ("mean", [4, 3, 2, 1], {}, 2.5),
    # Source: arithmetic mean sum(x)/n - (3+3+4)/3 = 3.333... rounds half up to 3.33
    ("mean", [3, 3, 4], {}, 3.33),
    # Source: arithmetic mean sum(x)/n - (2+3)/2 = 2.5 exactly, no rounding
    ("mean", [2, 3], {}, 2.5),
]


@pytest.mark.parametrize(("method", "values", "params", "expected"), GOLDEN)
def test_golden_values(method: str, values: Sequence[float], params: dict[str, float],
                       expected: float) -> None:
    spec = get_method(method)
    resolved = spec.resolve(params)
    assert round_half_up(spec.function(values, **resolved)) == expected


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


@pytest.mark.parametrize("function", [most_recent, highest, mean, decaying_average])
def test_no_evidence_is_an_error_naming_the_method(function: Callable[..., float]) -> None:
    with pytest.raises(MasteryError, match=function.__name__):
        function([])


@pytest.mark.parametrize("name", sorted(METHODS))
def test_one_score_returns_that_score(name: str) -> None:
    spec = METHODS[name]
    assert spec.function([2.5], **spec.resolve({})) == 2.5


@pytest.mark.parametrize("name", sorted(METHODS))
def test_zeros_stay_zero(name: str) -> None:
    spec = METHODS[name]
    assert spec.function([0, 0, 0], **spec.resolve({})) == 0


@pytest.mark.parametrize("weight", [0.3, 1.0, 0.49, 1.5, -0.65])
def test_decaying_weight_out_of_range_names_the_range(weight: float) -> None:
    with pytest.raises(MasteryError) as caught:
        get_method("decaying_average").resolve({"weight": weight})
    message = str(caught.value)
    assert "'weight'" in message
    assert "between 0.5 and 0.99" in message
    assert str(weight) in message


@pytest.mark.parametrize("weight", [0.5, 0.99, 0.75])
def test_decaying_weight_range_is_closed(weight: float) -> None:
    assert get_method("decaying_average").resolve({"weight": weight}) == {"weight": weight}


@pytest.mark.parametrize("weight", ["0.65", True, None])
def test_decaying_weight_must_be_a_number(weight: object) -> None:
    with pytest.raises(MasteryError, match="'weight' must be a number"):
        get_method("decaying_average").resolve({"weight": weight})


def test_default_weight_is_filled_in() -> None:
    assert get_method("decaying_average").resolve({}) == {"weight": 0.65}


def test_unknown_parameter_lists_the_ones_the_method_takes() -> None:
    with pytest.raises(MasteryError) as caught:
        get_method("decaying_average").resolve({"weight": 0.7, "decay": 0.2})
    message = str(caught.value)
    assert "['decay']" in message
    assert "it takes: ['weight']" in message


def test_parameter_for_a_method_without_parameters_says_none() -> None:
    with pytest.raises(MasteryError, match="it takes: none"):
        get_method("highest").resolve({"weight": 0.65})


def test_unknown_method_lists_known_methods() -> None:
    with pytest.raises(MasteryError) as caught:
        get_method("power_law")
    message = str(caught.value)
    assert "'power_law'" in message
    assert str(sorted(METHODS)) in message


def test_order_sensitivity_flags_match_the_definitions() -> None:
    ascending, descending = [1.0, 2.0, 4.0], [4.0, 2.0, 1.0]
    for name, spec in METHODS.items():
        params = spec.resolve({})
        differs = spec.function(ascending, **params) != spec.function(descending, **params)
        assert differs == spec.order_sensitive, name


def test_describe_states_the_decaying_split() -> None:
    spec = get_method("decaying_average")
    text = spec.describe(spec.resolve({"weight": 0.75}))
    assert "decaying average" in text
    assert "75%" in text
    assert "25%" in text
    assert get_method("mean").describe({}) == "mean of all scores"
