"""Reading what an OpenAI-compatible server sends: the chat-completions event stream (server-sent
events) and what each event says (its text, whether it carries a token, why the answer finished,
the usage it reports), and the words servers use for a prompt past the context window
(`context_overflow`). A malformed event is an `EngineError` that quotes it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx

from i18n import Text
from model_backend.conversation import AnswerStats
from model_backend.engines.base import EngineError

#: Words servers use for a prompt past the model's context window (vLLM, LMDeploy, transformers serve, proxies).
_CONTEXT_PHRASES = (
    "maximum context length",
    "context length",
    "context window",
    "maximum model length",
    "session_len",
    "session length",
    "prompt too long",
    "prompt is too long",
)


def context_overflow(message: str) -> Text | None:
    """The context-window message when a server's error words say the prompt is too long, else None.

    >>> context_overflow("The decoder prompt (length 5951) is longer than the maximum model length of 4096.").params
    {'tokens': 5951, 'limit': 4096}
    """
    decoder = re.search(r"prompt \(length (\d+)\) is longer than the maximum model length of (\d+)", message)
    if decoder:  # vLLM's input processor
        return Text("remote.context_full", {"tokens": int(decoder[1]), "limit": int(decoder[2])})
    exceeds = re.search(r"Input length \((\d+)\) exceeds model's maximum context length \((\d+)\)", message)
    if exceeds:  # vLLM, when the images make the prompt too long
        return Text("remote.context_full", {"tokens": int(exceeds[1]), "limit": int(exceeds[2])})
    maximum = re.search(r"maximum context length is (\d+) tokens", message)
    if maximum:  # the OpenAI wording, which vLLM copies: "However, you requested N tokens (...)"
        requested = re.search(r"requested (\d+) tokens", message)
        prompt = re.search(r"(\d+) input tokens|resulted in (\d+) tokens", message)
        if requested:
            return Text("remote.context_full", {"tokens": int(requested[1]), "limit": int(maximum[1])})
        if prompt:
            answer = re.search(r"max_tokens is too large: (\d+)", message)
            tokens = int(prompt[1] or prompt[2]) + (int(answer[1]) if answer else 0)
            return Text("remote.context_full", {"tokens": tokens, "limit": int(maximum[1])})
    lowered = message.lower()
    if maximum or any(phrase in lowered for phrase in _CONTEXT_PHRASES):
        return Text("remote.context_full_unknown")
    return None


def sse_events(response: httpx.Response) -> Iterator[dict | None]:
    """JSON payloads of `data:` lines; None for `[DONE]`. An error event raises."""
    for line in response.iter_lines():
        if not line.startswith("data:"):
            continue  # blank separators, comments (`: ping`), `event:` lines
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            yield None
            return
        try:
            event = json.loads(data)
        except ValueError as error:
            raise malformed(data) from error
        if not isinstance(event, dict):  # `null` would read as the end of the stream, `42` would crash below
            raise malformed(data)
        if "error" in event or event.get("object") == "error":
            detail = event.get("error", event)
            detail = str(detail.get("message", detail) if isinstance(detail, dict) else detail)
            raise EngineError(context_overflow(detail) or Text("remote.failed_mid"), detail=detail)
        yield event


def first_choice(event: dict) -> dict:
    """The event's first choice; a wrongly shaped one is a malformed event, never a crash."""
    choices = event.get("choices") or []
    if not isinstance(choices, list) or (choices and not isinstance(choices[0], dict)):
        raise malformed(json.dumps(event))
    return choices[0] if choices else {}


def delta_text(event: dict) -> str:
    delta = first_choice(event).get("delta") or {}
    content = delta.get("content") if isinstance(delta, dict) else None
    if not isinstance(delta, dict) or not isinstance(content, (str, type(None))):
        raise malformed(json.dumps(event))
    return content or ""


def malformed(data: str) -> EngineError:
    return EngineError("remote.malformed", detail=f"a malformed stream event: {data[:120]!r}")


def carries_a_token(event: dict) -> bool:
    """A chunk for a generated token: its delta has content (maybe empty), and it is not the role-only opener."""
    delta = first_choice(event).get("delta") or {}
    return (
        isinstance(delta, dict)
        and delta.get("content") is not None
        and not ("role" in delta and not delta.get("content"))
    )


def finish_reason(event: dict) -> str | None:
    return first_choice(event).get("finish_reason")


def read_usage(event: dict, stats: AnswerStats) -> bool:
    """Copy the event's token counts into `stats`; True when it carried any."""
    usage = event.get("usage")
    if not isinstance(usage, dict):
        return False
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    if isinstance(prompt, int):
        stats.prompt_tokens = prompt
    if isinstance(completion, int):
        stats.new_tokens = completion
    return isinstance(prompt, int) or isinstance(completion, int)
