import math

import pytest

from backend.errors import ValidationError
from backend.sweep.samplers import Finished, make_sampler
from backend.sweep.space import parse_space

EVERY_TYPE = {
    "c": {"type": "choice", "values": [1, "two", 3.0]},
    "r": {"type": "randint", "upper": 5},
    "u": {"type": "uniform", "min_value": -1, "max_value": 1},
    "lu": {"type": "loguniform", "min_value": -3, "max_value": 0},
    "n": {"type": "normal", "mu": 10, "sigma": 2},
    "ln": {"type": "lognormal", "mu": 0, "sigma": 0.5},
    "qu": {"type": "quniform", "min_value": 0, "max_value": 10, "q": 2},
    "qlu": {"type": "qloguniform", "min_value": 0, "max_value": 3, "q": 0.5},
    "qn": {"type": "qnormal", "mu": 5, "sigma": 3, "q": 1},
    "qln": {"type": "qlognormal", "mu": 1, "sigma": 0.5, "q": 0.25},
}


@pytest.mark.parametrize("rule", ["random", "sobol"])
def test_random_sampling_is_seeded_reproducible_and_in_range(rule):
    space = parse_space(EVERY_TYPE, algorithm="random")
    sampler = make_sampler("random", space, seed=7, goal="maximize", rule=rule)
    draws = [sampler.ask(i) for i in range(64)]
    again = make_sampler("random", space, seed=7, goal="maximize", rule=rule)
    assert [again.ask(i) for i in range(64)] == draws  # resumable: index i always gives the same values
    assert draws != [
        make_sampler("random", space, seed=8, goal="maximize", rule=rule).ask(i) for i in range(64)
    ]
    for d in draws:
        assert d["c"] in (1, "two", 3.0) and d["r"] in range(5)
        assert -1 <= d["u"] <= 1 and math.exp(-3) <= d["lu"] <= 1 and d["ln"] > 0
        assert d["qu"] in (0, 2, 4, 6, 8, 10) and isinstance(d["qu"], int)
        assert (d["qlu"] / 0.5).is_integer() and (d["qln"] / 0.25).is_integer()
        assert isinstance(d["qn"], int)
    assert len({d["c"] for d in draws}) == 3 and len({d["r"] for d in draws}) == 5


def test_grid_covers_every_combination_once_then_stops():
    space = parse_space(
        {"a": {"type": "choice", "values": [1, 2, 3]}, "b": {"type": "choice", "values": ["x", "y"]}},
        algorithm="grid",
    )
    sampler = make_sampler("grid", space, seed=0, goal="maximize")
    combos = [sampler.ask(i) for i in range(sampler.total)]
    assert sampler.total == 6 and sampler.ask(6) is None
    assert {(c["a"], c["b"]) for c in combos} == {(a, b) for a in (1, 2, 3) for b in ("x", "y")}


def test_bayesian_keeps_quantisation_and_learns_from_finished_trials():
    space = parse_space(
        {
            "lr": {"type": "uniform", "min_value": 0.0, "max_value": 1.0},
            "layers": {"type": "quniform", "min_value": 1, "max_value": 9, "q": 2},
            "act": {"type": "choice", "values": ["relu", "tanh"]},
        },
        algorithm="bayesian",
    )
    sampler = make_sampler("bayesian", space, seed=3, goal="maximize")
    history = []
    for i in range(25):
        params = sampler.ask(i, history)
        assert params["layers"] in (2, 4, 6, 8) and 0 <= params["lr"] <= 1
        # The objective peaks at lr near 0.8 with tanh.
        history.append(Finished(params, -abs(params["lr"] - 0.8) + (0.2 if params["act"] == "tanh" else 0)))
    late = [h.params["lr"] for h in history[15:]]
    assert sum(abs(x - 0.8) < 0.25 for x in late) >= 6  # it concentrates near the optimum


@pytest.mark.parametrize(
    ("algorithm", "space", "message"),
    [
        (
            "grid",
            {"lr": {"type": "uniform", "min_value": 0, "max_value": 1}},
            "search_space.lr: the grid sampling algorithm does not support 'uniform'",
        ),
        (
            "bayesian",
            {"lr": {"type": "loguniform", "min_value": -5, "max_value": 0}},
            "search_space.lr: the bayesian sampling algorithm does not support 'loguniform'",
        ),
        ("random", {"x": {"type": "gamma"}}, "search_space.x.type: 'gamma' is not a distribution"),
        ("random", {"x": {"type": "uniform", "min_value": 1}}, "search_space.x: 'uniform' needs max_value"),
        (
            "random",
            {"x": {"type": "uniform", "min_value": 2, "max_value": 1}},
            "min_value must be below max_value",
        ),
        ("random", {"x": {"type": "choice", "values": []}}, "search_space.x.values: give a non-empty list"),
        ("random", {"x": {"type": "normal", "mu": 0, "sigma": 1, "q": 1}}, "'normal' takes mu, sigma, not q"),
    ],
)
def test_bad_search_spaces_name_the_parameter(algorithm, space, message):
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_space(space, algorithm=algorithm)
