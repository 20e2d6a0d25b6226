"""UnicodeText and ChatMessages: any Unicode text, seeded samples, vector batching."""

from __future__ import annotations

import numpy as np
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array

from envs import ChatMessages, UnicodeText
from envs.spaces import prompt_space


def test_unicode_text_accepts_what_gymnasium_text_rejects():
    space = UnicodeText(50)
    for text in ["", "a b, c!", "naïve 中文 🙂\n\t{\"x\": [1]}", "\\boxed{\\frac{1}{2}}"]:
        assert text in space
    assert "x" * 51 not in space and b"bytes" not in space and 5 not in space


def test_unicode_text_samples_are_seeded_and_valid():
    first, second = UnicodeText(1000, sample_max_length=40), UnicodeText(1000, sample_max_length=40)
    first.seed(3), second.seed(3)
    samples = [first.sample() for _ in range(20)]
    assert samples == [second.sample() for _ in range(20)]
    assert all(s in first and len(s) <= 40 for s in samples)
    assert any(" " in s for s in samples)


def test_chat_messages_contains_openai_conversations():
    space = ChatMessages(max_messages=4, max_chars=100)
    good = [
        {"role": "system", "content": "s"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": None, "tool_calls": []},
        {"role": "tool", "tool_call_id": "c", "name": "f", "content": "{}"},
    ]
    assert space.contains(good)
    assert not space.contains(good + [{"role": "user", "content": "too many"}])
    assert not space.contains([{"role": "robot", "content": "x"}])
    assert not space.contains([{"role": "user", "content": None}])
    assert not space.contains([{"role": "user", "content": "x" * 101}])
    assert not space.contains("not a list")


def test_chat_messages_samples_are_members():
    space = ChatMessages()
    space.seed(0)
    assert all(space.contains(space.sample()) for _ in range(10))


def test_prompt_space_batches_for_vector_envs():
    space = prompt_space(1000)
    batched = batch_space(space, 3)
    empty = create_empty_array(space, 3)
    items = [{"messages": [{"role": "user", "content": str(i)}], "text": str(i)} for i in range(3)]
    out = concatenate(space, items, empty)
    assert out["text"] == ("0", "1", "2") and len(out["messages"]) == 3
    assert batched.contains(out)
    assert isinstance(create_empty_array(UnicodeText(5), 2, np.zeros), tuple)
