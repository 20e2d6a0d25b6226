"""Spaces for text environments: any Unicode string, and a chat conversation.

Gymnasium's ``Text`` space only accepts characters from a fixed charset (letters and digits by
default), which rejects spaces, punctuation and most of Unicode. :class:`UnicodeText` accepts
any ``str`` up to ``max_length`` characters; its ``sample`` draws short strings from a mixed
charset (ASCII printable, accents, CJK, emoji, newlines) so ``check_env`` exercises real text.
:class:`ChatMessages` holds an OpenAI-format conversation. Both batch in ``gymnasium.vector``
as tuples (hooks are registered on import).

>>> space = UnicodeText(100)
>>> "naïve café, 中文 {x: 1}\\n" in space
True
>>> ChatMessages().contains([{"role": "user", "content": "hi"}])
True
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from gymnasium import spaces
from gymnasium.vector.utils import batch_space, concatenate, create_empty_array

SAMPLE_CHARSET = (
    " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"
    "\n\téèüßñçøλπΣж中文字😀→∑√"
)
ROLES = ("system", "user", "assistant", "tool")


class UnicodeText(spaces.Text):
    """Any ``str`` of ``min_length`` to ``max_length`` characters (all of Unicode).

    Args:
        max_length: longest string in the space.
        min_length: shortest string in the space.
        sample_max_length: longest string that :meth:`sample` draws (keeps samples small).
    """

    def __init__(
        self,
        max_length: int,
        *,
        min_length: int = 0,
        sample_max_length: int = 64,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(max_length, min_length=min_length, charset=SAMPLE_CHARSET, seed=seed)
        self.sample_max_length = max(min_length, min(sample_max_length, max_length))

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def sample(self, mask: Any = None, probability: Any = None) -> str:
        if mask is not None or probability is not None:
            return super().sample(mask=mask, probability=probability)
        return sample_text(self.np_random, self.min_length, self.sample_max_length)

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )


class ChatMessages(spaces.Space):
    """A conversation: a list of OpenAI chat messages (``role`` and ``content``, plus
    ``tool_calls`` on assistant messages and ``tool_call_id``/``name`` on tool messages).

    Args:
        max_messages: most messages in a conversation.
        max_chars: longest total ``content`` over all messages.
    """

    def __init__(
        self,
        max_messages: int = 256,
        max_chars: int = 1_000_000,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        super().__init__(None, None, seed)
        self.max_messages = max_messages
        self.max_chars = max_chars

    @property
    def is_np_flattenable(self) -> bool:
        return False

    def contains(self, x: Any) -> bool:
        if not isinstance(x, (list, tuple)) or len(x) > self.max_messages:
            return False
        total = 0
        for message in x:
            if not _is_message(message):
                return False
            total += len(message.get("content") or "")
        return total <= self.max_chars

    def sample(self, mask: Any = None, probability: Any = None) -> list[dict[str, Any]]:
        count = int(self.np_random.integers(1, 4))
        roles = ["system", "user", "assistant"]
        return [
            {"role": roles[i % 3], "content": sample_text(self.np_random, 0, 32)}
            for i in range(count)
        ]

    def to_jsonable(self, sample_n: Sequence[Any]) -> list[Any]:
        return [list(sample) for sample in sample_n]

    def from_jsonable(self, sample_n: Sequence[Any]) -> list[Any]:
        return [list(sample) for sample in sample_n]

    def __repr__(self) -> str:
        return f"ChatMessages(max_messages={self.max_messages}, max_chars={self.max_chars})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, ChatMessages)
            and self.max_messages == other.max_messages
            and self.max_chars == other.max_chars
        )


def sample_text(rng: np.random.Generator, min_length: int, max_length: int) -> str:
    """A random string from :data:`SAMPLE_CHARSET` with a length in ``[min_length, max_length]``."""
    length = int(rng.integers(min_length, max_length + 1))
    return "".join(SAMPLE_CHARSET[i] for i in rng.integers(0, len(SAMPLE_CHARSET), size=length))


def _is_message(message: Any) -> bool:
    if not isinstance(message, dict) or message.get("role") not in ROLES:
        return False
    content = message.get("content")
    if content is None:
        return message["role"] == "assistant" and isinstance(message.get("tool_calls"), list)
    return isinstance(content, str)


def prompt_space(max_chars: int, max_messages: int = 256) -> spaces.Dict:
    """Observation space of the text environments: ``{"messages": ChatMessages, "text":
    UnicodeText}``."""
    return spaces.Dict(
        {"messages": ChatMessages(max_messages, max_chars), "text": UnicodeText(max_chars)}
    )


@create_empty_array.register(ChatMessages)
def _empty_conversations(space: ChatMessages, n: int = 1, fn: Any = np.zeros) -> tuple[list, ...]:
    return tuple([] for _ in range(n))


@create_empty_array.register(UnicodeText)
def _empty_texts(space: UnicodeText, n: int = 1, fn: Any = np.zeros) -> tuple[str, ...]:
    return tuple("" for _ in range(n))


# ``batch_space`` and ``concatenate`` already treat any Space as a tuple of items; named here so a
# reader sees every hook the vector API uses for these spaces.
_VECTOR_HOOKS = (batch_space, concatenate, create_empty_array)
