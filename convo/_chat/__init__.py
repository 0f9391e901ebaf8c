"""Chat: a conversation kept in a store and answered through a client.

The top layer of the library: it uses the core values, the policies, a wire
format, the client and the store, and nothing below it imports it. The public
names are re-exported lazily by `convo` (`convo.Chat`, `convo.AsyncChat`,
`convo.Reply`, `convo.Summarizer`, `convo.COMPACT_PROMPT`).

- `_core`: the pure steps both shells share (plan a request, fold an answer);
- `_sync` / `_async`: the two I/O shells (`Chat`, `AsyncChat`);
- `_compact`: summarising an old prefix of a conversation.
"""

from __future__ import annotations

from convo._chat._async import AsyncChat
from convo._chat._compact import COMPACT_PROMPT, Summarizer
from convo._chat._core import Reply
from convo._chat._sync import Chat

__all__ = ["COMPACT_PROMPT", "AsyncChat", "Chat", "Reply", "Summarizer"]
