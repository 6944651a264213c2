"""Turn streamed text pieces into exactly the answer the checkpoint's own `chat` returns.

`chat` decodes every new token at once and returns `decoded.split(sep)[0].strip()`. A stream
sees the same text in pieces, so it must cut at the separator even when the separator
arrives split over two pieces, drop leading whitespace, and hold trailing whitespace back
until it knows more text follows. Joining what `feed` and `finish` return gives the same
string as `chat`.

>>> text = AnswerText("<|end|>")
>>> [text.feed(p) for p in ["  Hello ", "world <|e", "nd|> tail"]] + [text.finish()]
['Hello', ' world', '', '']
>>> text.ended
True
"""

from __future__ import annotations


class AnswerText:
    """Incremental `decoded.split(sep)[0].strip()`. `sep` is the template separator, stripped."""

    def __init__(self, sep: str) -> None:
        self.sep = sep
        self.ended = False  # the separator showed up: nothing after it belongs to the answer
        self._held = ""  # trailing whitespace and/or a tail that may be the start of `sep`
        self._started = False  # leading whitespace is dropped until the first visible character

    def feed(self, piece: str) -> str:
        """The part of the answer that `piece` makes certain (may be empty)."""
        if self.ended:
            return ""
        buffer = self._held + piece
        cut = buffer.find(self.sep) if self.sep else -1
        if cut >= 0:
            self.ended = True
            self._held = ""
            return self._start(buffer[:cut].rstrip())
        safe = len(buffer) - self._sep_prefix_length(buffer)
        emit_end = len(buffer[:safe].rstrip())
        self._held = buffer[emit_end:]
        return self._start(buffer[:emit_end])

    def finish(self) -> str:
        """What is left once the stream has ended: a held tail that turned out not to be `sep`."""
        if self.ended:
            return ""
        self.ended = True
        rest, self._held = self._held.rstrip(), ""
        return self._start(rest)

    def _start(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text

    def _sep_prefix_length(self, buffer: str) -> int:
        """Length of the longest tail of `buffer` that is a proper prefix of `sep`."""
        for length in range(min(len(self.sep) - 1, len(buffer)), 0, -1):
            if buffer.endswith(self.sep[:length]):
                return length
        return 0
