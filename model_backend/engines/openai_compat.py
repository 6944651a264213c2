"""Answer through an OpenAI-compatible server: LMDeploy `api_server`, vLLM `serve`, `transformers serve`.

The whole history is sent every turn (these servers keep no session). Tokens stream back as server-sent
events; setting `stop` closes the stream between two chunks, which also makes the server abort generation.
Every failure becomes an `EngineError` whose message says what happened and what to do (the server's own
words, or the HTTP library's, are its `detail`), and text that already arrived stays with the caller. A
server that refuses a prompt longer than its model's context window is told apart from other refusals, so
the user hears what to shorten.

>>> engine = OpenAICompatEngine(ServerSpec("http://127.0.0.1:23333", "OpenGVLab/InternVL2-8B"))
>>> engine.label
'server OpenGVLab/InternVL2-8B @ 127.0.0.1:23333'
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from typing import Literal
from urllib.parse import urlsplit

import httpx

from i18n import ExplainedError
from model_backend.conversation import AnswerStats, Conversation
from model_backend.engines.base import STREAM_ONLY, Answer, EngineError
from model_backend.engines.openai_events import (
    carries_a_token,
    context_overflow,
    delta_text,
    finish_reason,
    read_usage,
    sse_events,
)
from model_backend.engines.openai_messages import (
    FLAVOURS,
    Flavour,
    build_messages,
    sampling_fields,
    vllm_processor_fields,
)
from model_backend.settings import GenerationSettings, ServerSpec

CONNECT_TIMEOUT_S = 5.0
#: Tokens that arrive closer together than this came in one burst: no decode rate can be read from them.
MIN_RATE_WINDOW_S = 0.05
log = logging.getLogger(__name__)


def _api_root(base_url: str) -> str:
    """`http://host:port` and `http://host:port/v1` both name the server; requests go to `.../v1/...`."""
    root = base_url.rstrip("/")
    return root[: -len("/v1")] if root.endswith("/v1") else root


def _headers(api_key: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_key}"} if api_key else {}


def _model_cards(base_url: str, api_key: str | None, timeout: float) -> list[dict]:
    url = f"{_api_root(base_url)}/v1/models"
    try:
        response = httpx.get(url, headers=_headers(api_key), timeout=timeout)
    except httpx.HTTPError as error:
        raise _transport_error(error, base_url) from error
    _raise_for_status(response, base_url, model=None)
    try:
        cards = list(response.json()["data"])
    except (ValueError, KeyError, TypeError):
        cards = None
    if cards is None or not all(isinstance(card, dict) and "id" in card for card in cards):
        raise EngineError("remote.not_a_model_list", detail=f"GET {url}: {response.text[:300]}", url=base_url)
    return cards


def list_models(server: ServerSpec | str, api_key: str | None = None, timeout: float = 5) -> list[str]:
    """Model names the server serves (GET /v1/models), in the server's order.

    `server` is a `ServerSpec` (its API key is used unless `api_key` is given) or a base URL.
    """
    if isinstance(server, ServerSpec):
        api_key, server = api_key or server.api_key, server.base_url
    return [str(card["id"]) for card in _model_cards(server, api_key, timeout)]


class OpenAICompatEngine:
    """The `Engine` protocol over HTTP. `flavour="auto"` asks the server what it is on first use."""

    capabilities = STREAM_ONLY  # the server batches, caches and prefills on its own side

    def __init__(self, server: ServerSpec, flavour: Flavour | Literal["auto"] = "auto") -> None:
        if flavour != "auto" and flavour not in FLAVOURS:
            raise ValueError(f"flavour must be auto or one of {', '.join(FLAVOURS)}, got {flavour!r}")
        self.server = server
        self._flavour: Flavour | None = None if flavour == "auto" else flavour
        self._cards: list[dict] | None = None
        #: Set once a vLLM refused per-request processor settings (started without --trust-request-mm-kwargs):
        #: its own tile budget then applies to every image, and requests stop carrying ours.
        self.server_tile_budget = False
        self.label = f"server {server.model} @ {urlsplit(server.base_url).netloc}"

    # -- what the server is -------------------------------------------------------------------

    def _model_card(self) -> dict | None:
        if self._cards is None:
            self._cards = _model_cards(self.server.base_url, self.server.api_key, CONNECT_TIMEOUT_S)
        return next((card for card in self._cards if card.get("id") == self.server.model), None)

    def flavour(self) -> Flavour:
        """lmdeploy / vllm name themselves in `owned_by`; transformers serve has its own routes."""
        if self._flavour is None:
            card = self._model_card() or {}
            owner = str(card.get("owned_by", "")).lower()
            if owner in ("lmdeploy", "vllm"):
                self._flavour = owner  # type: ignore[assignment]
            else:
                self._flavour = "transformers" if self._has_route("/load_model") else "openai"
        return self._flavour

    def _has_route(self, path: str) -> bool:
        try:
            response = httpx.get(f"{_api_root(self.server.base_url)}/openapi.json", timeout=CONNECT_TIMEOUT_S)
            return response.status_code == 200 and path in response.json().get("paths", {})
        except (httpx.HTTPError, ValueError, AttributeError):
            return False  # no schema: treat it as a plain OpenAI-style server

    def context_window(self) -> int | None:
        """vLLM reports `max_model_len` with each model; other servers do not say."""
        try:
            card = self._model_card()
        except EngineError:
            return None
        length = (card or {}).get("max_model_len")
        return int(length) if isinstance(length, int) else None

    # -- answering ------------------------------------------------------------------------------

    def request_body(self, conversation: Conversation, settings: GenerationSettings) -> dict:
        flavour = self.flavour()
        body = {"model": self.server.model, "messages": build_messages(conversation, settings, flavour), "stream": True}
        body.update(sampling_fields(settings, flavour))
        if flavour == "vllm" and not self.server_tile_budget:
            body.update(vllm_processor_fields(conversation, settings))
        return body

    def stream(self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event) -> Answer:
        return Answer(lambda stats: self._pieces(conversation, settings, stop, stats))

    def _pieces(
        self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event, stats: AnswerStats
    ) -> Iterator[str]:
        try:
            yield from self._attempt(conversation, settings, stop, stats)
        except _TileBudgetRefused:
            log.warning("%s refuses per-request mm_processor_kwargs: its own tile budget applies", self.server.base_url)
            self.server_tile_budget = True
            yield from self._attempt(conversation, settings, stop, stats)

    def _attempt(
        self, conversation: Conversation, settings: GenerationSettings, stop: threading.Event, stats: AnswerStats
    ) -> Iterator[str]:
        base_url = self.server.base_url
        try:
            body = self.request_body(conversation, settings)
        except ExplainedError:
            raise  # MediaError (an unreadable image or video) explains itself
        except (ValueError, OSError) as error:
            raise EngineError("remote.prepare_failed", detail=f"{type(error).__name__}: {error}") from error
        if stop.is_set():
            return
        # The read timeout bounds the wait for each chunk, so a hung server cannot hang the app.
        timeout = httpx.Timeout(self.server.timeout_s, connect=CONNECT_TIMEOUT_S)
        started = time.perf_counter()
        first_token_at: float | None = None
        pieces = 0
        finished = False
        usage_seen = streamed = False
        try:
            with (
                httpx.Client(timeout=timeout) as client,
                client.stream(
                    "POST",
                    f"{_api_root(base_url)}/v1/chat/completions",
                    json=body,
                    headers=_headers(self.server.api_key),
                ) as response,
            ):
                if response.status_code >= 400:
                    response.read()
                    if self._refused_tile_budget(response, body):
                        raise _TileBudgetRefused
                    self._check_status(response)
                for event in sse_events(response):
                    if stop.is_set():
                        return  # leaving the `with` closes the connection; the server aborts generation
                    if event is None:
                        finished = True
                        break
                    finished = finished or finish_reason(event) is not None
                    usage_seen = read_usage(event, stats) or usage_seen
                    if first_token_at is None and carries_a_token(event):
                        # Timed by the first token, even one whose text is still empty (part of a character).
                        first_token_at = time.perf_counter()
                        stats.time_to_first_token_s = first_token_at - started
                    text = delta_text(event)
                    if not streamed:
                        # vLLM starts answers with the space a SentencePiece token carries; model.chat strips it.
                        text = text.lstrip(" ")
                    if text:
                        streamed = True
                        pieces += 1
                        yield text
        except httpx.TimeoutException as error:
            seconds = f"{self.server.timeout_s:g}"
            technical = f"{type(error).__name__}: {error}"
            if pieces:
                raise EngineError("remote.stalled", detail=technical, url=base_url, seconds=seconds) from error
            raise EngineError("remote.timeout", detail=technical, url=base_url, seconds=seconds) from error
        except httpx.HTTPError as error:
            if pieces:
                technical = f"{type(error).__name__}: {error}"
                raise EngineError("remote.connection_lost", detail=technical, url=base_url) from error
            raise _transport_error(error, base_url) from error
        finally:
            stats.counted_from_stream = not usage_seen
            if not usage_seen:
                # No `usage` from this server: count what the stream shows; the prompt stays unknown.
                stats.new_tokens = pieces
            if first_token_at is not None and stats.new_tokens > 1:
                ended = time.perf_counter()
                elapsed = ended - first_token_at
                if elapsed >= MIN_RATE_WINDOW_S:
                    # The first token's time belongs to the prompt; the rate covers the tokens after it.
                    stats.tokens_per_s = (stats.new_tokens - 1) / elapsed
                else:  # the tokens came in one burst (a buffering proxy): over the whole request instead
                    stats.tokens_per_s = stats.new_tokens / (ended - started)
        if not finished:
            detail = "the event stream closed before a finish_reason or [DONE]"
            raise EngineError("remote.unfinished", detail=detail, url=base_url)

    def _refused_tile_budget(self, response: httpx.Response, body: dict) -> bool:
        """A vLLM started without --trust-request-mm-kwargs refuses our per-request tile budget (HTTP 400)."""
        return (
            response.status_code == 400
            and "mm_processor_kwargs" in body
            and "mm_processor_kwargs" in _server_message(response)
        )

    def _check_status(self, response: httpx.Response) -> None:
        _raise_for_status(response, self.server.base_url, self.server.model, self._served_models)

    def _served_models(self) -> list[str] | None:
        try:
            return list_models(self.server)
        except EngineError:
            return None


class _TileBudgetRefused(Exception):
    """The server refused the request's own tile budget before answering: ask again without it."""


def _transport_error(error: httpx.HTTPError, base_url: str) -> EngineError:
    technical = f"{type(error).__name__}: {error}"
    if isinstance(error, httpx.ConnectError):  # refused, no route, DNS: the server is gone or the address wrong
        return EngineError("remote.cannot_connect", detail=technical, url=base_url)
    if isinstance(error, httpx.TimeoutException):
        return EngineError("remote.no_reply", detail=technical, url=base_url)
    return EngineError("remote.transport_failed", detail=technical, url=base_url)


def _server_message(response: httpx.Response) -> str:
    """The human part of an error body: FastAPI `detail`, OpenAI `error.message`, vLLM/LMDeploy `message`."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300]
    if isinstance(body, dict):
        error = body.get("error")
        for value in (
            body.get("detail"),
            error.get("message") if isinstance(error, dict) else error,
            body.get("message"),
        ):
            if value:
                return str(value)
    return str(body)[:300]


def _raise_for_status(response: httpx.Response, base_url: str, model: str | None, served=None) -> None:
    status = response.status_code
    if status < 400:
        return
    message = _server_message(response)
    technical = f"HTTP {status}: {message}"
    if status in (401, 403):
        raise EngineError("remote.api_key", detail=technical, url=base_url)
    if model is not None and status in (400, 404, 422) and served is not None:
        # Servers word an unknown model differently (404 in vLLM/LMDeploy, 400 in a pinned transformers serve),
        # so ask the server what it serves rather than parse the wording.
        names = served()
        if names is not None and model not in names:
            if not names:
                raise EngineError("remote.no_models", detail=technical, model=model)
            raise EngineError("remote.unknown_model", detail=technical, model=model, served=", ".join(names))
    if status == 404:
        raise EngineError("remote.no_endpoint", detail=technical, url=base_url)
    if status < 500:
        overflow = context_overflow(message)
        if overflow is not None:
            raise EngineError(overflow, detail=technical)
        images = re.search(r"At most (\d+) image", message)
        if images:  # vLLM's --limit-mm-per-prompt
            raise EngineError("remote.too_many_images", detail=technical, limit=int(images[1]))
        raise EngineError("remote.rejected", detail=technical, url=base_url)
    raise EngineError("remote.server_failed", detail=technical, url=base_url)
