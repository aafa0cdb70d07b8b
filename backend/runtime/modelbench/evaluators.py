"""Per-item metrics, the judge prompts and parser, and the per-model aggregate.

Everything here is a pure function of strings and numbers so that the benchmark job and Studio's pages
compute the same numbers from the same stored records. Answers are compared SQuAD-style (normalised
text), so that "The Eiffel Tower." and "eiffel tower" count as the same answer.
"""

from __future__ import annotations

import json
import math
import re
import string
from collections import Counter
from collections.abc import Iterable, Sequence

GroundTruth = str | Sequence[str]

_PUNCTUATION = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")

JUDGE_METRICS = ("coherence", "fluency", "groundedness", "similarity")
# Metrics that only a judge can score: the others may have a non-judge fallback, these say why they're empty.
NEEDS_JUDGE = ("coherence", "fluency")
# The metrics that go into the quality index, in the order they are listed.
QUALITY_METRICS = ("accuracy", "f1", *JUDGE_METRICS)


def normalize(text: str) -> str:
    """SQuAD's answer normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _truths(ground_truth: GroundTruth) -> list[str]:
    """A ground truth as a list of acceptable answers (a single string is one answer)."""
    return [ground_truth] if isinstance(ground_truth, str) else list(ground_truth)


def exact_match(prediction: str, ground_truth: GroundTruth) -> int:
    """1 when the normalised prediction equals any acceptable answer, else 0."""
    return max((int(normalize(prediction) == normalize(t)) for t in _truths(ground_truth)), default=0)


def _f1_one(prediction: str, truth: str) -> float:
    """SQuAD's token F1 of one prediction against one answer (bags of tokens, so repeats count)."""
    pred, gold = normalize(prediction).split(), normalize(truth).split()
    if not pred or not gold:
        return float(pred == gold)
    same = sum((Counter(pred) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def f1(prediction: str, ground_truth: GroundTruth) -> float:
    """Token-overlap F1, the best over the acceptable answers (SQuAD's definition)."""
    return max((_f1_one(prediction, t) for t in _truths(ground_truth)), default=0.0)


# A leading option letter: "B", "B)", "B.", "B:", "(B)", "Answer: B", "The answer is (b)". A bare letter
# must be upper case and stand alone, so that "A dog" (the article) is not read as option A.
_LETTER = re.compile(
    r"^(?:(?:the\s+)?answer(?:\s+is)?\s*[:\-]?\s*)?"
    r"(?:\((?P<paren>[A-Za-z])\)|(?P<closed>[A-Za-z])\)|(?P<bare>[A-Z])(?:[.:,]|\s*$|\s+-))",
    re.IGNORECASE,
)


def _leading_letter(prediction: str, n_choices: int) -> int | None:
    """The option index named by a leading letter, or None when there is none (or it is out of range)."""
    match = _LETTER.match(prediction.strip())
    if not match:
        return None
    letter = match.group("paren") or match.group("closed") or match.group("bare")
    if match.group("bare") and not letter.isupper():
        return None
    index = ord(letter.upper()) - ord("A")
    return index if index < n_choices else None


def _contained_options(prediction: str, choices: Sequence[str]) -> list[int]:
    """Indices of the options whose normalised text appears, as whole words, in the answer.

    An option contained in another contained option ("Paris" in "Paris, Texas") is dropped: the answer
    named the longer one.
    """
    answer = f" {normalize(prediction)} "
    texts = [normalize(c) for c in choices]
    found = [i for i, t in enumerate(texts) if t and f" {t} " in answer]
    return [
        i for i in found if not any(j != i and texts[i] != texts[j] and texts[i] in texts[j] for j in found)
    ]


def choose_option(prediction: str, choices: Sequence[str]) -> str | None:
    """Which option a multiple-choice answer picked, or None when it can't be told.

    A leading letter wins (it maps to the options by position); otherwise exactly one option's text
    must appear in the answer. Two candidates, or none, is None: an answer is never guessed.
    """
    index = _leading_letter(prediction, len(choices))
    if index is not None:
        return choices[index]
    found = {normalize(choices[i]) for i in _contained_options(prediction, choices)}
    if len(found) != 1:
        return None
    return next(c for c in choices if normalize(c) in found)


def _option_text(truth: str, choices: Sequence[str]) -> str:
    """A ground truth given as an option letter ("B", "(b)") as that option's text; text stays as it is."""
    match = re.fullmatch(r"\(?([A-Za-z])\)?", truth.strip())
    if match:
        index = ord(match.group(1).upper()) - ord("A")
        if index < len(choices):
            return choices[index]
    return truth


def accuracy(prediction: str, ground_truth: GroundTruth, choices: Sequence[str] | None = None) -> int:
    """1 when the answer is right: with ``choices``, the option it picked is the right one (the ground
    truth may be a letter or an option's text); without, an exact match."""
    if not choices:
        return exact_match(prediction, ground_truth)
    chosen = choose_option(prediction, choices)
    if chosen is None:
        return 0
    return max(int(normalize(chosen) == normalize(_option_text(t, choices))) for t in _truths(ground_truth))


_REPLY_FORMAT = (
    'Reply with only a JSON object: {"score": <integer 1-5>, "reasoning": "<one or two sentences>"}.'
)

# The judge prompts. A change of wording changes the scores: bump the version, which is stored with them.
JUDGE_PROMPTS: dict[str, dict[str, str]] = {
    "coherence": {
        "version": "1",
        "system": (
            "You grade the coherence of an answer: whether it reads as a whole, its sentences follow "
            "from one another, and it addresses the question in a logical order. Ignore factual accuracy. "
            "5 = perfectly coherent; 4 = mostly coherent, minor jumps; 3 = partly coherent, some "
            "disconnected parts; 2 = mostly incoherent; 1 = incoherent or off topic. " + _REPLY_FORMAT
        ),
        "user": "Question:\n{question}\n\nAnswer:\n{answer}",
    },
    "fluency": {
        "version": "1",
        "system": (
            "You grade the fluency of an answer: grammar, word choice, spelling and how naturally it "
            "reads. Ignore factual accuracy and relevance. 5 = fluent, native-like; 4 = minor errors; "
            "3 = noticeable errors, still clear; 2 = many errors, hard to read; 1 = unreadable. "
            + _REPLY_FORMAT
        ),
        "user": "Answer:\n{answer}",
    },
    "groundedness": {
        "version": "1",
        "system": (
            "You grade the groundedness of an answer: whether every claim in it is supported by the "
            "given context. Claims not in the context count against it, even when true. 5 = fully "
            "supported; 4 = supported but for a minor detail; 3 = partly supported; 2 = mostly "
            "unsupported; 1 = unsupported or contradicting the context. " + _REPLY_FORMAT
        ),
        "user": "Context:\n{context}\n\nQuestion:\n{question}\n\nAnswer:\n{answer}",
    },
    "similarity": {
        "version": "1",
        "system": (
            "You grade how similar an answer is in meaning to the reference answer, for the question "
            "asked. Wording may differ; meaning matters. 5 = same meaning; 4 = mostly the same, minor "
            "omissions; 3 = partly the same; 2 = mostly different; 1 = different or contradicting. "
            + _REPLY_FORMAT
        ),
        "user": "Question:\n{question}\n\nReference answer:\n{ground_truth}\n\nAnswer:\n{answer}",
    },
}


def _field(item: dict, key: str) -> str:
    """An item's field as prompt text: a list of acceptable answers joined, a missing field "(none)"."""
    value = item.get(key)
    if value is None or value == "":
        return "(none)"
    return str(value) if isinstance(value, str) else " | ".join(str(v) for v in value)


def judge_messages(metric: str, item: dict, answer: str) -> list[dict]:
    """The chat messages that ask a judge model to score ``answer`` to ``item`` on ``metric``."""
    if metric not in JUDGE_PROMPTS:
        raise ValueError(f"unknown judge metric {metric!r}; expected one of {', '.join(JUDGE_METRICS)}")
    prompt = JUDGE_PROMPTS[metric]
    user = prompt["user"].format(
        question=_field(item, "question"),
        context=_field(item, "context"),
        ground_truth=_field(item, "ground_truth"),
        answer=answer,
    )
    return [{"role": "system", "content": prompt["system"]}, {"role": "user", "content": user}]


_FENCE = re.compile(r"```(?:json)?[ \t]*\n?(?P<body>.*?)\n?[ \t]*```", re.DOTALL | re.IGNORECASE)


def _json_score(text: str) -> tuple[int, str] | None:
    """(score, reasoning) from a JSON object with an integer score 1-5, else None."""
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    score = obj.get("score")
    if type(score) is not int or not 1 <= score <= 5:
        return None
    reasoning = obj.get("reasoning", obj.get("explanation", ""))
    return score, "" if reasoning is None else str(reasoning)


def parse_score(text: str) -> tuple[int | None, str]:
    """A judge's reply as (score 1-5, reasoning), strictly: a bare integer, or a JSON object (optionally in
    one fenced block) with an integer ``score``. Anything else is (None, "unparsable: ...") so that a
    misread reply is counted, never turned into a guessed score."""
    stripped = text.strip()
    if re.fullmatch(r"[1-5]", stripped):
        return int(stripped), ""
    fence = _FENCE.fullmatch(stripped)
    parsed = _json_score(fence.group("body") if fence else stripped)
    if parsed is None:
        return None, f"unparsable: {stripped[:80]}"
    return parsed


def _normalised(metric: str, value: float) -> float:
    """A metric on 0-1: accuracy and F1 already are; a 1-5 judge score maps by (s - 1) / 4."""
    return (value - 1) / 4 if metric in JUDGE_METRICS else value


def quality_index(metrics: dict[str, float | None]) -> tuple[float | None, list[str]]:
    """The mean of the available quality metrics on 0-1, and which went in (None when none did).

    Missing metrics are left out rather than counted as 0, so the list says what the index stands for.
    """
    used = [m for m in QUALITY_METRICS if metrics.get(m) is not None]
    if not used:
        return None, []
    return sum(_normalised(m, metrics[m]) for m in used) / len(used), used


def cost(input_tokens: int, output_tokens: int, price_in_per_1k: float, price_out_per_1k: float) -> float:
    """The price of one call, from token counts and prices per 1,000 tokens."""
    return input_tokens / 1000 * price_in_per_1k + output_tokens / 1000 * price_out_per_1k


def percentile(values: Iterable[float], q: float) -> float | None:
    """The nearest-rank percentile (an observed value, no interpolation); None for no values."""
    ordered = sorted(values)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _metric(value: float | None, source: str, **extra) -> dict:
    """One aggregated metric; a metric without a value has the source "none"."""
    return {"value": value, "source": source if value is not None else "none", **extra}


def _mean(values: list[float]) -> float | None:
    """The mean, None for no values (an empty metric is "not measured", never 0)."""
    return sum(values) / len(values) if values else None


def _computed(items: list[dict], key: str) -> dict:
    """The mean of a computed per-item metric (items without it are left out)."""
    values = [item[key] for item in items if item.get(key) is not None]
    return _metric(_mean(values), "computed", n=len(values))


def _judged(items: list[dict], metric: str) -> dict:
    """The mean of a judge metric's parsed scores, with how many replies could not be parsed.

    The source is "fallback" when any score came from a fallback rather than the judge, so a mixed value
    is never presented as the judge's.
    """
    records = [item[metric] for item in items if item.get(metric)]
    if not records:
        extra = {"note": "needs a judge"} if metric in NEEDS_JUDGE else {}
        return {"value": None, "source": "none", "n": 0, "unparsable": 0, **extra}
    scores = [r["score"] for r in records if r.get("score") is not None]
    source = "fallback" if any(r.get("source") == "fallback" for r in records) else "judge"
    return {
        "value": _mean(scores),
        "source": source,
        "n": len(scores),
        "unparsable": len(records) - len(scores),
    }


def _throughput(items: list[dict]) -> dict:
    """Output tokens per second over the items that have both counts: total tokens / total latency."""
    timed = [i for i in items if i.get("output_tokens") is not None and i.get("latency_s") is not None]
    seconds = sum(i["latency_s"] for i in timed)
    value = sum(i["output_tokens"] for i in timed) / seconds if seconds > 0 else None
    return _metric(value, "computed", n=len(timed))


def aggregate(items: list[dict]) -> dict:
    """Per-item records as one model's metrics, each ``{"value", "source", "n", ...}``.

    An item record: ``{"accuracy": 0/1|None, "f1": float|None, "<judge metric>": {"score", "reasoning",
    "source"}|None, "latency_s", "input_tokens", "output_tokens", "cost"}``. Cost is the total over the
    items; latency the median (nearest rank); judge metrics the mean score, with ``unparsable`` counts.
    """
    metrics = {"accuracy": _computed(items, "accuracy"), "f1": _computed(items, "f1")}
    metrics.update({m: _judged(items, m) for m in JUDGE_METRICS})
    index, inputs = quality_index({m: metrics[m]["value"] for m in QUALITY_METRICS})
    # An index with a fallback's score among its inputs is labelled a fallback's, as its inputs are.
    with_fallback = any(metrics[m]["source"] == "fallback" for m in inputs)
    metrics["quality_index"] = _metric(index, "fallback" if with_fallback else "computed", inputs=inputs)
    costs = [i["cost"] for i in items if i.get("cost") is not None]
    metrics["cost"] = _metric(sum(costs) if costs else None, "computed", n=len(costs))
    latencies = [i["latency_s"] for i in items if i.get("latency_s") is not None]
    metrics["latency_p50_s"] = _metric(percentile(latencies, 50), "computed", n=len(latencies))
    metrics["tokens_per_s"] = _throughput(items)
    return metrics
