"""Offline stand-ins for a judge: the pure parts here, the models in the benchmark interpreter."""

from __future__ import annotations

import pytest

from backend.runtime.modelbench import fallbacks


def test_basic_tokens_lower_case_strip_accents_and_split_punctuation():
    assert fallbacks.basic_tokens("Héllo, World!  It's\t330m.") == [
        "hello", ",", "world", "!", "it", "'", "s", "330m", ".",
    ]  # fmt: skip


def test_wordpieces_match_the_longest_piece_first():
    vocab = {"un": 0, "una": 1, "##ff": 2, "##ffa": 3, "##ble": 4, "##b": 5}
    assert fallbacks.wordpieces("unaffable", vocab) == ["una", "##ffa", "##ble"]
    assert fallbacks.wordpieces("unx", vocab) == ["[UNK]"]
    assert fallbacks.wordpieces("x" * 101, vocab) == ["[UNK]"]


@pytest.mark.parametrize(
    ("cosine", "score"), [(-0.3, 1), (0.2, 1), (0.3, 2), (0.55, 3), (0.7, 4), (0.9, 5), (1.0, 5)]
)
def test_cosine_maps_to_a_score_by_the_stated_rule(cosine, score):
    assert fallbacks.score_from_cosine(cosine) == score


CONTEXT = "The Eiffel Tower is in Paris. It was completed in 1889 and is 330 metres tall."


def test_groundedness_needs_a_context_and_an_answer():
    assert fallbacks.groundedness("Paris.", None) is None
    assert fallbacks.groundedness("Paris.", "  ") is None
    assert fallbacks.groundedness("", CONTEXT) is None


def test_the_sentence_rule_counts_supported_sentences():
    # Studio's interpreter has no grounded-check: the sentence rule is what it uses.
    supported, total, missing, _ = fallbacks._sentence_rule(
        "Bananas grow in Ecuador. The tower is in Paris.", CONTEXT
    )
    assert (supported, total) == (1, 2)
    assert missing == ["sentence 'Bananas grow in Ecuador.'"]


def test_groundedness_without_grounded_check(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "grounded", None)
    result = fallbacks.groundedness("The Eiffel Tower is in Paris. Bananas grow in Ecuador.", CONTEXT)
    assert result["score"] == 3 and result["source"] == "fallback"
    assert "1 of 2 claims" in result["reasoning"] and "content words" in result["reasoning"]


SIMILARITY = """
import json
from modelbench import fallbacks
pairs = {
    "paraphrase": ("The capital of France is Paris.", "Paris is the capital of France."),
    "paraphrase2": ("The cat sat on the mat.", "A cat was sitting on a rug."),
    "same": ("Paris", "Paris"),
    "unrelated": ("The Nile flows through Egypt.", "Bananas are rich in potassium."),
    "unrelated2": ("Photosynthesis happens in chloroplasts.", "The match ended in a draw."),
    "list": ("blue", ["Bananas are yellow.", "blue"]),
}
out = {k: fallbacks.similarity(a, b) for k, (a, b) in pairs.items()}
v = fallbacks.embed(["A sentence about the weather.", "A sentence about the weather."])
out["self_cosine"] = float(v[0] @ v[1])
out["norm"] = float((v[0] ** 2).sum())
out["ids"] = fallbacks.encode("Hello, world!")
print(json.dumps(out))
"""


def test_similarity_from_minilm_embeddings(run_bench):
    out, stderr = run_bench(SIMILARITY)
    assert out["ids"] == [
        101,
        7592,
        1010,
        2088,
        999,
        102,
    ]  # bert-base-uncased ids: [CLS] hello , world ! [SEP]
    assert out["self_cosine"] == pytest.approx(1.0, abs=1e-5)
    assert out["norm"] == pytest.approx(1.0, abs=1e-5)
    assert out["same"]["score"] == 5 and out["list"]["score"] == 5
    assert out["paraphrase"]["score"] >= 4 and out["paraphrase2"]["score"] >= 4
    assert out["unrelated"]["score"] <= 2 and out["unrelated2"]["score"] <= 2
    for key in ("paraphrase", "unrelated"):
        result = out[key]
        assert result["source"] == "fallback"
        assert fallbacks.SIMILARITY_RULE in result["reasoning"]
        assert result["score"] == fallbacks.score_from_cosine(result["cosine"])
    assert not stderr.strip(), stderr[:2000]  # onnxruntime is quiet


GROUNDEDNESS = f"""
import json
from modelbench.fallbacks import groundedness
context = {CONTEXT!r}
print(json.dumps({{
    "supported": groundedness("The Eiffel Tower was completed in 1889.", context),
    "invented": groundedness("The Eiffel Tower was completed in 1925 by Napoleon.", context),
    "unrelated": groundedness("Bananas grow in Ecuador and Brazil, mostly on large plantations.", context),
    "none": groundedness("Paris.", None),
}}))
"""


def test_groundedness_with_grounded_check(run_bench):
    out, _ = run_bench(GROUNDEDNESS)
    assert out["supported"]["score"] == 5
    assert 1 < out["invented"]["score"] < 5
    assert "'1925'" in out["invented"]["reasoning"] and "'Napoleon'" in out["invented"]["reasoning"]
    assert out["unrelated"]["score"] == 1
    assert "grounded-check" in out["supported"]["reasoning"]
    assert {r["source"] for r in (out["supported"], out["invented"], out["unrelated"])} == {"fallback"}
    assert out["none"] is None
