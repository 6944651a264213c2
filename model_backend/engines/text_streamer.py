"""A text streamer whose pieces join to exactly the decoded answer, for every tokenizer kind.

transformers' `TextIteratorStreamer` decodes its token cache afresh after every newline. A
SentencePiece tokenizer (InternLM2's, Llama's as Phi-3 uses it) drops the word boundary of the
first piece of a decode, so the space after a newline is lost: "\\n    return" streams as
"\\n   return", "1.\\n 2." as "1.\\n2.". The checkpoint's own `chat` decodes all tokens at once
and keeps it, so a streamed answer would differ from `chat`'s.

`ExactTextStreamer` keeps the token that ended the line as context for the next decode and
emits only the text after it. Byte-level BPE tokenizers (Qwen) were right already; for them
the output is the same as transformers'.

>>> streamer = ExactTextStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)  # doctest: +SKIP
>>> model.generate(**inputs, streamer=streamer)  # in a thread; iterate `streamer` for the text  # doctest: +SKIP
"""

from __future__ import annotations

import torch
from transformers import TextIteratorStreamer


class ExactTextStreamer(TextIteratorStreamer):
    """`TextIteratorStreamer` that never loses text at a line end (see the module docstring)."""

    def put(self, value: torch.Tensor) -> None:
        if len(value.shape) > 1 and value.shape[0] > 1:
            raise ValueError("ExactTextStreamer only supports batch size 1")
        if len(value.shape) > 1:
            value = value[0]
        if self.skip_prompt and self.next_tokens_are_prompt:
            self.next_tokens_are_prompt = False
            return

        self.token_cache.extend(value.tolist())
        text = self.tokenizer.decode(self.token_cache, **self.decode_kwargs)
        if text.endswith("\n"):
            # Flush the line, but keep its last token: the next decode then starts mid-text, as
            # the full decode does, instead of at a (SentencePiece) start of text.
            printable = text[self.print_len :]
            self.token_cache = self.token_cache[-1:]
            self.print_len = len(self.tokenizer.decode(self.token_cache, **self.decode_kwargs))
        elif text and self._is_chinese_char(ord(text[-1])):
            printable = text[self.print_len :]
            self.print_len += len(printable)
        else:  # up to the last space: the last word may still change with the next token
            printable = text[self.print_len : max(self.print_len, text.rfind(" ") + 1)]
            self.print_len += len(printable)
        self.on_finalized_text(printable)
