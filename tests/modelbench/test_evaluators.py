"""The per-item metrics, the judge prompts and parser, and the aggregate, on tables of known answers."""

from __future__ import annotations

import json

import pytest

from backend.runtime.modelbench import evaluators as ev


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Eiffel Tower.", "eiffel tower"),
        ("  An   apple, a PEAR!  ", "apple pear"),
        ("theory of the atom", "theory of atom"),  # "the" inside a word stays
        ("Anne's bat-man", "annes batman"),
        ("", ""),
        ("a an the", ""),
    ],
)
def test_normalize(text, expected):
    assert ev.normalize(text) == expected


@pytest.mark.parametrize(
    ("prediction", "truth", "expected"),
    [
        ("The Eiffel Tower", "eiffel tower.", 1),
        ("Eiffel", "Eiffel Tower", 0),
        ("paris", ["London", "Paris"], 1),
        ("Rome", ["London", "Paris"], 0),
        ("", "", 1),
        ("anything", [], 0),
    ],
)
def test_exact_match(prediction, truth, expected):
    assert ev.exact_match(prediction, truth) == expected


@pytest.mark.parametrize(
    ("prediction", "truth", "expected"),
    [
        ("the cat sat", "the cat sat", 1.0),
        ("cat", "the cat sat", 2 * 1 * 0.5 / 1.5),  # precision 1/1, recall 1/2
        ("cat cat dog", "cat mouse", 2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2)),  # Counter: one "cat" in common
        ("dog", "cat", 0.0),
        ("", "cat", 0.0),
        ("the", "a", 1.0),  # both normalise to nothing: equal
        ("blue whale", ["whale", "blue whale shark"], 0.8),  # best of 2/3 and 0.8
    ],
)
def test_f1(prediction, truth, expected):
    assert ev.f1(prediction, truth) == pytest.approx(expected)


CHOICES = ["Paris", "London", "Berlin", "Madrid"]


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ("B", "London"),
        ("B)", "London"),
        ("(B)", "London"),
        ("(b)", "London"),
        ("b) London", "London"),
        ("B. London", "London"),
        ("Answer: B", "London"),
        ("answer: C", "Berlin"),
        ("The answer is (D)", "Madrid"),
        ("  C  ", "Berlin"),
        ("It is Berlin.", "Berlin"),
        ("berlin", "Berlin"),
        ("Paris or London", None),  # two options named
        ("I don't know", None),
        ("E", None),  # no fifth option, and no text to go by
        ("A dog barked", None),  # the article, not option A
        ("b", None),  # a bare lower-case letter is a word, not an option
    ],
)
def test_choose_option(prediction, expected):
    assert ev.choose_option(prediction, CHOICES) == expected


def test_choose_option_prefers_the_longer_option_that_contains_another():
    assert ev.choose_option("Paris, Texas", ["Paris", "Paris Texas", "Rome"]) == "Paris Texas"
    assert ev.choose_option("Paris", ["Paris", "Paris Texas", "Rome"]) == "Paris"


@pytest.mark.parametrize(
    ("prediction", "truth", "expected"),
    [
        ("B", "London", 1),
        ("B", "B", 1),
        ("(b)", "b", 1),
        ("London", "B", 1),
        ("C", "B", 0),
        ("Paris or London", "B", 0),  # ambiguous is wrong, never half right
        ("A", ["A", "Paris"], 1),
    ],
)
def test_accuracy_multiple_choice(prediction, truth, expected):
    assert ev.accuracy(prediction, truth, CHOICES) == expected


def test_accuracy_without_choices_is_exact_match():
    assert ev.accuracy("The Paris", "paris") == 1
    assert ev.accuracy("B", "London") == 0


@pytest.mark.parametrize("metric", ev.JUDGE_METRICS)
def test_judge_prompts_are_versioned_and_ask_for_json(metric):
    prompt = ev.JUDGE_PROMPTS[metric]
    assert prompt["version"] == "1"
    assert '{"score": <integer 1-5>' in prompt["system"]
    assert "{answer}" in prompt["user"]


def test_judge_messages_fill_the_template():
    item = {
        "question": "Capital of {France}?",
        "context": "Paris is France's capital.",
        "ground_truth": ["Paris"],
    }
    messages = ev.judge_messages("groundedness", item, "Paris")
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == ev.JUDGE_PROMPTS["groundedness"]["system"]
    assert messages[1]["content"] == (
        "Context:\nParis is France's capital.\n\nQuestion:\nCapital of {France}?\n\nAnswer:\nParis"
    )
    similarity = ev.judge_messages("similarity", {"question": "Q", "ground_truth": ["a", "b"]}, "x")
    assert "Reference answer:\na | b" in similarity[1]["content"]
    assert "Context:\n(none)" in ev.judge_messages("groundedness", {"question": "Q"}, "x")[1]["content"]


def test_judge_messages_unknown_metric():
    with pytest.raises(ValueError, match="unknown judge metric 'relevance'"):
        ev.judge_messages("relevance", {}, "x")


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("4", (4, "")),
        ("  5\n", (5, "")),
        ('{"score": 3, "reasoning": "ok"}', (3, "ok")),
        ('{"score": 2, "explanation": "thin"}', (2, "thin")),
        ('{"score": 1}', (1, "")),
        ('```json\n{"score": 4, "reasoning": "clear"}\n```', (4, "clear")),
        ('```\n{"score": 5, "reasoning": "r"}\n```', (5, "r")),
        ('  ```json {"score": 2, "reasoning": "r"} ```  ', (2, "r")),
    ],
)
def test_parse_score_accepts(reply, expected):
    assert ev.parse_score(reply) == expected


@pytest.mark.parametrize(
    "reply",
    [
        "I'd say 4",
        "4.5",
        "6",
        "0",
        "4/5",
        "Score: 4",
        "",
        '{"reasoning": "no score"}',
        '{"score": 4.0}',
        '{"score": "4"}',
        '{"score": true}',
        '{"score": 7, "reasoning": "x"}',
        "[4]",
        'Sure! {"score": 4}',
        '```json\n{"score": 4}\n```\n```json\n{"score": 5}\n```',  # two fences
        '```json\n{"score": 4\n```',
    ],
)
def test_parse_score_rejects(reply):
    score, reason = ev.parse_score(reply)
    assert score is None
    assert reason == f"unparsable: {reply.strip()[:80]}"


def test_parse_score_cuts_the_reply_at_80_chars():
    assert ev.parse_score("x" * 200) == (None, "unparsable: " + "x" * 80)


def test_parse_score_reads_what_the_prompt_asks_for():
    """A reply in exactly the format every prompt asks for parses."""
    assert ev.parse_score(json.dumps({"score": 3, "reasoning": "partly"})) == (3, "partly")


@pytest.mark.parametrize(
    ("metrics", "expected", "used"),
    [
        ({"accuracy": 1.0, "f1": 0.5}, 0.75, ["accuracy", "f1"]),
        ({"accuracy": 0.5, "coherence": 5, "fluency": 1}, 0.5, ["accuracy", "coherence", "fluency"]),
        ({"similarity": 4, "f1": None, "cost": 3.0}, 0.75, ["similarity"]),
        ({"accuracy": None}, None, []),
        ({}, None, []),
    ],
)
def test_quality_index(metrics, expected, used):
    value, inputs = ev.quality_index(metrics)
    assert value == (pytest.approx(expected) if expected is not None else None)
    assert inputs == used


def test_cost():
    assert ev.cost(1500, 500, 0.01, 0.03) == pytest.approx(0.015 + 0.015)
    assert ev.cost(0, 0, 1.0, 1.0) == 0.0


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([15, 20, 35, 40, 50], 50, 35),
        ([15, 20, 35, 40, 50], 30, 20),  # rank ceil(1.5) = 2
        ([15, 20, 35, 40, 50], 100, 50),
        ([15, 20, 35, 40, 50], 0, 15),
        ([3, 1, 2, 4], 50, 2),  # unsorted in, an observed value out
        ([7], 95, 7),
        ([], 50, None),
    ],
)
def test_percentile(values, q, expected):
    assert ev.percentile(values, q) == expected


def _judge(score, source="judge"):
    return {"score": score, "reasoning": "", "source": source}


def test_aggregate_by_hand():
    """Three items with known answers; every number below is worked out by hand."""
    price_in, price_out = 0.5, 1.5  # per 1,000 tokens
    answers = [
        ("Paris", "Paris", 100, 10, 1.0),
        ("The city of London", "London", 200, 20, 2.0),
        ("Rome", "Madrid", 300, 30, 4.0),
    ]
    scores = [(5, 4), (4, None), (3, 2)]  # (coherence, similarity); None: an unparsable reply
    items = []
    for (prediction, truth, tokens_in, tokens_out, latency), (coherence, similarity) in zip(
        answers, scores, strict=True
    ):
        items.append(
            {
                "accuracy": ev.exact_match(prediction, truth),
                "f1": ev.f1(prediction, truth),
                "coherence": _judge(coherence),
                "similarity": _judge(similarity),
                "latency_s": latency,
                "input_tokens": tokens_in,
                "output_tokens": tokens_out,
                "cost": ev.cost(tokens_in, tokens_out, price_in, price_out),
            }
        )
    metrics = ev.aggregate(items)

    assert metrics["accuracy"] == {"value": pytest.approx(1 / 3), "source": "computed", "n": 3}
    # F1: 1, then "city of london" vs "london": P 1/3, R 1 -> 0.5, then 0.
    assert metrics["f1"]["value"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert metrics["coherence"] == {"value": 4.0, "source": "judge", "n": 3, "unparsable": 0}
    assert metrics["similarity"] == {"value": 3.0, "source": "judge", "n": 2, "unparsable": 1}
    assert metrics["fluency"] == {
        "value": None,
        "source": "none",
        "n": 0,
        "unparsable": 0,
        "note": "needs a judge",
    }
    assert metrics["groundedness"] == {"value": None, "source": "none", "n": 0, "unparsable": 0}
    # Quality: accuracy 1/3, f1 1/2, coherence (4-1)/4 = 0.75, similarity (3-1)/4 = 0.5.
    assert metrics["quality_index"]["value"] == pytest.approx((1 / 3 + 1 / 2 + 0.75 + 0.5) / 4)
    assert metrics["quality_index"]["inputs"] == ["accuracy", "f1", "coherence", "similarity"]
    # Cost: 600 tokens in at 0.5/1k = 0.3, 60 out at 1.5/1k = 0.09.
    assert metrics["cost"]["value"] == pytest.approx(0.39)
    assert metrics["latency_p50_s"] == {"value": 2.0, "source": "computed", "n": 3}
    assert metrics["tokens_per_s"]["value"] == pytest.approx(60 / 7)


def test_aggregate_without_anything():
    metrics = ev.aggregate([{"accuracy": None, "latency_s": None}])
    for name in ("accuracy", "f1", "quality_index", "cost", "latency_p50_s", "tokens_per_s"):
        assert metrics[name]["value"] is None
        assert metrics[name]["source"] == "none"
    assert metrics["coherence"]["note"] == "needs a judge"
    assert metrics["quality_index"]["inputs"] == []
    assert set(metrics) == {
        "accuracy",
        "f1",
        "coherence",
        "fluency",
        "groundedness",
        "similarity",
        "quality_index",
        "cost",
        "latency_p50_s",
        "tokens_per_s",
    }


def test_aggregate_judge_sources():
    fallback = ev.aggregate([{"similarity": _judge(4, "fallback")}, {"similarity": _judge(2, "fallback")}])
    assert fallback["similarity"] == {"value": 3.0, "source": "fallback", "n": 2, "unparsable": 0}
    mixed = ev.aggregate([{"groundedness": _judge(5)}, {"groundedness": _judge(3, "fallback")}])
    assert mixed["groundedness"]["source"] == "fallback"  # not presented as the judge's alone
    # A quality index with a fallback's score among its inputs is labelled so; the judge's alone is not.
    assert fallback["quality_index"]["source"] == "fallback"
    assert ev.aggregate([{"similarity": _judge(4)}])["quality_index"]["source"] == "computed"
    unparsed = ev.aggregate([{"coherence": _judge(None)}])
    assert unparsed["coherence"] == {"value": None, "source": "judge", "n": 0, "unparsable": 1}


def test_aggregate_throughput_skips_untimed_items():
    items = [
        {"output_tokens": 30, "latency_s": 1.5},
        {"output_tokens": 10, "latency_s": None},  # a failed call: no latency
        {"output_tokens": 20, "latency_s": 0.5},
    ]
    assert ev.aggregate(items)["tokens_per_s"] == {"value": 25.0, "source": "computed", "n": 2}
