"""The early-termination rules of SPEC section 8, on hand-made histories."""

import pytest

from backend.errors import ValidationError
from backend.sweep.policies import (
    BanditPolicy,
    MedianStoppingPolicy,
    TrialCurve,
    TruncationSelectionPolicy,
    compute_saved,
    make_policy,
)


def curves(**histories) -> list[TrialCurve]:
    """name=[values...] for running trials; name_done=[...] for finished ones."""
    out = []
    for order, (name, values) in enumerate(histories.items()):
        out.append(
            TrialCurve(
                name.removesuffix("_done"), list(values), running=not name.endswith("_done"), order=order
            )
        )
    return out


def canceled(policy, trials, goal="maximize") -> dict[str, int]:
    return {t.trial: t.interval for t in policy.decide(trials, goal)}


# --- bandit ------------------------------------------------------------------------------------------------


def test_bandit_worked_example_from_the_spec():
    """maximize, slack_factor 0.1, best 0.8 at interval 10: 0.7 < 0.8 / 1.1 = 0.727 is canceled."""
    policy = BanditPolicy(slack_factor=0.1, evaluation_interval=1, delay_evaluation=10)
    trials = curves(best=[0.5] * 9 + [0.8], worse=[0.5] * 9 + [0.7], close=[0.5] * 9 + [0.73])
    decisions = policy.decide(trials, "maximize")
    assert [(d.trial, d.interval) for d in decisions] == [("worse", 10)]
    assert decisions[0].numbers["threshold"] == pytest.approx(0.8 / 1.1)
    assert "0.7 is below 0.727273" in decisions[0].reason


def test_bandit_slack_amount_and_minimize():
    trials = curves(a=[1.0, 0.5], b=[1.0, 0.75], c=[1.0, 0.9])
    # minimize: best at 2 is 0.5; slack_amount 0.3 -> cancel above 0.8
    assert canceled(BanditPolicy(slack_amount=0.3), trials, "minimize") == {"c": 2}
    # minimize with a factor: 0.5 * 1.4 = 0.7 -> b (0.75) and c go
    assert canceled(BanditPolicy(slack_factor=0.4), trials, "minimize") == {"b": 2, "c": 2}


def test_bandit_on_the_threshold_is_kept():
    trials = curves(a=[1.0], b=[0.5])
    assert canceled(BanditPolicy(slack_amount=0.5), trials) == {}


def test_finished_trials_are_peers_but_never_canceled():
    trials = curves(best_done=[0.9], bad_done=[0.1], running=[0.2])
    assert canceled(BanditPolicy(slack_factor=0.1), trials) == {"running": 1}


def test_a_trial_that_ran_ahead_is_judged_when_peers_catch_up():
    policy = BanditPolicy(slack_factor=0.1)
    ahead = [0.5, 0.5, 0.5, 0.5]
    assert canceled(policy, curves(ahead=ahead, late=[0.48])) == {}
    assert canceled(policy, curves(ahead=ahead, late=[0.48, 0.48, 0.9])) == {"ahead": 3}


def test_delay_and_interval_choose_which_intervals_are_judged():
    trials = curves(good=[1, 1, 1, 1, 1, 1], bad=[0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert canceled(BanditPolicy(slack_factor=0.1, delay_evaluation=5), trials) == {"bad": 5}
    assert canceled(BanditPolicy(slack_factor=0.1, evaluation_interval=4), trials) == {"bad": 4}
    assert canceled(BanditPolicy(slack_factor=0.1, evaluation_interval=4, delay_evaluation=5), trials) == {}
    assert canceled(BanditPolicy(slack_factor=0.1, evaluation_interval=0), trials) == {
        "bad": 1
    }  # 0 counts as 1


# --- median stopping ----------------------------------------------------------------------------------------


def test_median_stopping_compares_a_trials_best_with_the_median_of_running_averages():
    # Running averages at 2: a 0.85, b 0.55, c 0.25 -> median 0.55.
    trials = curves(a=[0.8, 0.9], b=[0.5, 0.6], c=[0.3, 0.2])
    decisions = {d.trial: d for d in MedianStoppingPolicy().decide(trials, "maximize")}
    # At interval 1 the averages are 0.8, 0.5, 0.3 (median 0.5): c's best 0.3 is below -> canceled at 1.
    assert {k: v.interval for k, v in decisions.items()} == {"c": 1}
    assert decisions["c"].numbers == {"best": 0.3, "median": 0.5, "peers": 3}
    # b's best (0.6) is above the median (0.55) at 2, and equal to it at 1: kept.


def test_median_stopping_minimize_uses_the_lowest_value_as_best():
    trials = curves(a=[0.2, 0.1], b=[0.5, 0.4], c=[0.9, 0.8])
    assert canceled(MedianStoppingPolicy(), trials, "minimize") == {"c": 1}


def test_median_stopping_with_delay():
    trials = curves(a=[0.8, 0.9, 0.9], b=[0.1, 0.1, 0.1], c=[0.5, 0.5, 0.5])
    assert canceled(MedianStoppingPolicy(delay_evaluation=3), trials) == {"b": 3}


# --- truncation selection ------------------------------------------------------------------------------------


def test_truncation_cancels_the_worst_share_of_running_trials():
    trials = curves(a=[0.9], b=[0.8], c=[0.7], d=[0.6], e=[0.5])
    # 5 trials, 40% -> floor(2) worst running: e and d.
    assert canceled(TruncationSelectionPolicy(truncation_percentage=40), trials) == {"e": 1, "d": 1}
    # minimize flips it.
    assert canceled(TruncationSelectionPolicy(truncation_percentage=40), trials, "minimize") == {
        "a": 1,
        "b": 1,
    }


def test_truncation_counts_finished_trials_unless_excluded():
    trials = curves(a_done=[0.1], b_done=[0.2], c=[0.9], d=[0.5])
    # With finished trials ranked: 4 trials, 50% -> 2 worst of the running ones (c and d).
    assert canceled(TruncationSelectionPolicy(truncation_percentage=50), trials) == {"d": 1, "c": 1}
    # Excluding them: 2 running trials, 50% -> 1: d.
    assert canceled(
        TruncationSelectionPolicy(truncation_percentage=50, exclude_finished_jobs=True), trials
    ) == {"d": 1}


def test_truncation_rounds_down_and_breaks_ties_against_the_later_trial():
    assert (
        canceled(TruncationSelectionPolicy(truncation_percentage=20), curves(a=[1], b=[2], c=[3], d=[4]))
        == {}
    )
    tied = curves(a=[0.5], b=[0.5], c=[0.9])
    assert canceled(TruncationSelectionPolicy(truncation_percentage=34), tied) == {"b": 1}


def test_truncation_honours_delay_and_interval():
    trials = curves(a=[0.9, 0.9, 0.9, 0.9], b=[0.1, 0.1, 0.1, 0.1])
    policy = TruncationSelectionPolicy(truncation_percentage=50, evaluation_interval=2, delay_evaluation=3)
    assert canceled(policy, trials) == {"b": 4}


# --- construction and compute saved ----------------------------------------------------------------------------


def test_policies_from_yaml_and_bad_arguments():
    assert isinstance(make_policy({"type": "bandit", "slack_factor": 0.1}), BanditPolicy)
    assert make_policy(None) is None
    with pytest.raises(ValidationError, match="exactly one of slack_factor, slack_amount"):
        make_policy({"type": "bandit"})
    with pytest.raises(ValidationError, match="must be 1 to 99"):
        make_policy({"type": "truncation_selection", "truncation_percentage": 100})
    with pytest.raises(ValidationError, match="'hyperband' is not known"):
        make_policy({"type": "hyperband"})


def test_compute_saved_projects_each_canceled_trial_to_the_median_completed_length():
    # completed trials reached 10 intervals; a trial canceled after 2 intervals in 20 s would need 80 s more.
    assert compute_saved([(20.0, 2), (50.0, 10)], [10, 10, 12]) == pytest.approx(80.0)
    assert compute_saved([(20.0, 2)], []) == 0.0
