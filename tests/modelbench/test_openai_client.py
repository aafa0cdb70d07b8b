"""The chat client against the scripted server: the request it sends and every kind of failure."""

from __future__ import annotations

import pytest

from backend.runtime.modelbench import evaluators as ev
from backend.runtime.modelbench.openai_client import ClientError, chat, chat_url
from tests.modelbench.scripted_server import Rule, ScriptedServer

KEY = "sk-test-0123456789secret"
USER = [{"role": "user", "content": "What is the capital of France?"}]


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("http://h:1", "http://h:1/v1/chat/completions"),
        ("http://h:1/", "http://h:1/v1/chat/completions"),
        ("http://h:1/v1", "http://h:1/v1/chat/completions"),
        ("http://h:1/openai/v1/chat/completions", "http://h:1/openai/v1/chat/completions"),
        ("http://h:1/serve/chat/completions/", "http://h:1/serve/chat/completions"),
    ],
)
def test_chat_url(base, expected):
    assert chat_url(base) == expected


def test_chat_returns_text_usage_and_latency():
    usage = {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}
    with ScriptedServer([("capital of France", "Paris", usage, 200, False, 0.05)]) as server:
        result = chat(server.url, USER, model="m1", api_key=KEY, max_tokens=16)
    assert result.text == "Paris"
    assert result.usage == {"prompt_tokens": 9, "completion_tokens": 1}
    assert 0.05 <= result.latency_s < 5
    [request] = server.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert request["body"] == {"messages": USER, "model": "m1", "temperature": 0.0, "max_tokens": 16}


def test_chat_without_key_or_usage():
    with ScriptedServer([("France", "Paris")]) as server:
        result = chat(server.url + "/v1/chat/completions", USER)
    assert result.usage is None
    assert "Authorization" not in server.requests[0]["headers"]
    assert "model" not in server.requests[0]["body"]


def test_chat_usage_needs_both_counts():
    with ScriptedServer([("France", "Paris", {"prompt_tokens": 9})]) as server:
        assert chat(server.url, USER).usage is None


def test_first_matching_rule_wins_on_the_last_user_message():
    rules = [("judge", "4"), ("France", "Paris"), ("", "fallback")]
    messages = [*USER, {"role": "assistant", "content": "x"}, {"role": "user", "content": "Spain?"}]
    with ScriptedServer(rules) as server:
        assert chat(server.url, USER).text == "Paris"
        assert chat(server.url, messages).text == "fallback"


def test_judge_prompts_reach_the_server():
    item = {"question": "Capital of France?", "ground_truth": "Paris"}
    with ScriptedServer([("Reference answer:", '{"score": 5, "reasoning": "same"}')]) as server:
        reply = chat(server.url, ev.judge_messages("similarity", item, "Paris"), api_key=KEY)
    assert ev.parse_score(reply.text) == (5, "same")
    body = server.requests[0]["body"]
    assert body["messages"][0]["content"] == ev.JUDGE_PROMPTS["similarity"]["system"]
    assert "Reference answer:\nParis" in body["messages"][1]["content"]


def test_http_error_is_one_line_without_the_key():
    body = f'{{"error": {{"message": "Incorrect API key provided:\\n {KEY}"}}}}'
    with ScriptedServer([Rule("France", body, status=401)]) as server, pytest.raises(ClientError) as info:
        chat(server.url, USER, api_key=KEY)
    message = str(info.value)
    assert message.startswith(f"HTTP 401 from {server.url}/v1/chat/completions: ")
    assert "Incorrect API key provided" in message
    assert KEY not in message
    assert "\n" not in message


def test_non_json_reply():
    with (
        ScriptedServer([Rule("France", "<html>gateway</html>", raw=True)]) as server,
        pytest.raises(ClientError, match=r"non-JSON reply from .*: <html>gateway</html>$"),
    ):
        chat(server.url, USER, api_key=KEY)


@pytest.mark.parametrize("body", ['{"choices": []}', '{"id": "x"}', '{"choices": [{"message": {}}]}', "[1]"])
def test_reply_without_choices(body):
    with (
        ScriptedServer([Rule("France", body, raw=True)]) as server,
        pytest.raises(ClientError, match=r"has no choices\[0\]\.message\.content"),
    ):
        chat(server.url, USER)


def test_timeout():
    with (
        ScriptedServer([Rule("France", "Paris", delay_s=1.0)]) as server,
        pytest.raises(ClientError, match=r"no reply from .* within 0.2 s"),
    ):
        chat(server.url, USER, timeout=0.2)


def test_unreachable_server():
    server = ScriptedServer([])
    url = server.url
    server.stop()  # never started: the port is closed again
    with pytest.raises(ClientError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1/chat/completions: "):
        chat(url, USER, api_key=KEY, timeout=5)


def test_unscripted_request_is_an_error():
    with ScriptedServer([("France", "Paris")]) as server, pytest.raises(ClientError, match="HTTP 400"):
        chat(server.url, [{"role": "user", "content": "Spain?"}])
