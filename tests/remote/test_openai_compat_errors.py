"""OpenAICompatEngine's failure paths against a canned HTTP server in this process (no real model server).

The server answers each route with a scripted `Reply`: a status and a JSON or text body, or a server-sent event
stream that can stop short, carry an error event or garbage, or go silent for longer than the engine's read
timeout. Each test checks the exact message the user sees (the server's own words are the error's `detail`,
never the message), that text streamed before a failure was yielded first and stays with the answer, and that
the conversation handed in is left as it was.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

import pytest

from components.stats import describe
from model_backend.conversation import Conversation, ImageAttachment
from model_backend.engines.base import Answer, EngineError
from model_backend.engines.openai_compat import OpenAICompatEngine, list_models
from model_backend.settings import GenerationSettings, ServerSpec
from tests.media_factory import make_png

MODEL = "OpenGVLab/InternVL3-1B"
TIMEOUT_S = 0.2  # ServerSpec.timeout_s in every test: the read timeout a silent server runs into
HANG_BOUND_S = 3.0  # a silent handler gives up after this even if the test never releases it
SETTINGS = GenerationSettings(max_new_tokens=8, max_tiles=2)
PNG = make_png(32, 24)
MALFORMED = (
    "The server sent something this app cannot read in the middle of the answer, so the answer is incomplete. "
    "Check that the address points to an OpenAI-compatible server, and look at its log."
)


def chunk(text: str = "", finish: str | None = None) -> str:
    """One OpenAI `chat.completion.chunk` payload."""
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": finish}
    return json.dumps({"object": "chat.completion.chunk", "model": MODEL, "choices": [choice]})


@dataclass(frozen=True)
class Reply:
    """What the canned server answers on one route."""

    status: int = 200
    body: object = None  # JSON-encoded unless it is a str (sent as is); ignored when `events` is set
    events: tuple[str, ...] | None = None  # SSE payloads, each sent as `data: <payload>` then a blank line
    hang: Literal["before headers", "after events"] | None = None  # then stay silent until the test ends
    cut_short: bool = False  # promise a longer body than is sent, then close: a broken connection


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: dict | None


@dataclass
class CannedServer:
    base_url: str = ""
    routes: dict[tuple[str, str], Reply] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, method: str, path: str, reply: Reply) -> None:
        self.routes[(method, path)] = reply

    def paths(self) -> list[str]:
        return [f"{r.method} {r.path}" for r in self.requests]


class _Handler(BaseHTTPRequestHandler):
    canned: CannedServer  # set on a subclass per server

    def log_message(self, format: str, *args: object) -> None:  # keep the test output quiet
        pass

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        canned = self.canned
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        canned.requests.append(Request(self.command, self.path, dict(self.headers), json.loads(raw) if raw else None))
        reply = canned.routes.get((self.command, self.path), Reply(404, {"detail": "Not Found"}))
        if reply.hang == "before headers":
            canned.release.wait(HANG_BOUND_S)
            return
        if reply.events is not None:
            payload = "".join(f"data: {event}\n\n" for event in reply.events).encode()
            content_type = "text/event-stream"
        else:
            body = reply.body
            payload = (body if isinstance(body, str) else json.dumps(body)).encode()
            content_type = "text/plain" if isinstance(body, str) else "application/json"
        self.send_response(reply.status)
        self.send_header("Content-Type", content_type)
        if reply.cut_short:
            self.send_header("Content-Length", str(len(payload) + 1000))
        elif reply.events is None:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()  # an event stream has no length: HTTP/1.0, it ends when the connection closes
        self.wfile.write(payload)
        self.wfile.flush()
        if reply.hang == "after events":
            canned.release.wait(HANG_BOUND_S)


@pytest.fixture(scope="module")
def _server() -> Iterator[CannedServer]:
    """The canned server on 127.0.0.1 (port 0), shared by this module's tests."""
    state = CannedServer()
    handler = type("Handler", (_Handler,), {"canned": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(HANG_BOUND_S)


@pytest.fixture
def canned(_server: CannedServer) -> Iterator[CannedServer]:
    """The server with a fresh script for one test: it serves MODEL and one more, and nothing else yet."""
    models = {"object": "list", "data": [{"id": MODEL, "owned_by": "vllm"}, {"id": "other/model", "owned_by": "vllm"}]}
    _server.routes = {("GET", "/v1/models"): Reply(body=models)}
    _server.requests = []
    try:
        yield _server
    finally:
        _server.release.set()  # handlers this test left silent return, so their threads end
        _server.release = threading.Event()


def _engine(
    canned: CannedServer, api_key: str | None = None, model: str = MODEL, flavour: str = "openai"
) -> OpenAICompatEngine:
    """An engine on the canned server; the flavour is given, so only a test that wants it sees the lookup."""
    spec = ServerSpec(canned.base_url, model, api_key=api_key, timeout_s=TIMEOUT_S)
    return OpenAICompatEngine(spec, flavour=flavour)  # type: ignore[arg-type]


def _conversation() -> Conversation:
    """An answered turn and a pending one with an image: what the app hands the engine."""
    conversation = Conversation()
    conversation.ask("What is this?", images=(ImageAttachment(PNG),))
    conversation.turns[-1].answer = "A picture."
    conversation.ask("And the colours?", images=(ImageAttachment(PNG),))
    return conversation


def _fail(canned: CannedServer, reply: Reply, **engine_args: object) -> tuple[EngineError, list[str], Answer]:
    """Stream an answer while /v1/chat/completions gives `reply`; the error, the pieces received, the answer.

    Also checks that the conversation handed in is unchanged by the failure.
    """
    canned.answer("POST", "/v1/chat/completions", reply)
    conversation = _conversation()
    before = conversation.to_json()
    answer = _engine(canned, **engine_args).stream(conversation, SETTINGS, threading.Event())  # type: ignore[arg-type]
    received: list[str] = []
    with pytest.raises(EngineError) as caught:
        for piece in answer:
            received.append(piece)
    assert conversation.to_json() == before
    assert not conversation.turns[-1].answered
    return caught.value, received, answer


# -- the canned server itself ------------------------------------------------------------------------------------


def test_a_complete_stream_is_answered_normally(canned: CannedServer) -> None:
    events = (chunk("Hel"), chunk("lo"), chunk("", finish="stop"), "[DONE]")
    canned.answer("POST", "/v1/chat/completions", Reply(events=events))
    answer = _engine(canned, api_key="sk-good", flavour="auto").stream(_conversation(), SETTINGS, threading.Event())
    assert list(answer) == ["Hel", "lo"]
    assert answer.stats.new_tokens == 2
    assert canned.paths() == ["GET /v1/models", "POST /v1/chat/completions"]  # flavour from `owned_by`
    chat = canned.requests[-1]
    assert chat.headers["Authorization"] == "Bearer sk-good"
    assert chat.body is not None and chat.body["model"] == MODEL and chat.body["stream"] is True


# -- token counts: a server's `usage`, or none ----------------------------------------------------------------------


def test_a_server_that_sends_no_usage_still_gets_counted_stats(canned: CannedServer) -> None:
    """Not every server reports usage in a stream (transformers serve 5.25 does not): count what arrives."""
    events = (chunk("Hel"), chunk("lo"), chunk(" there"), chunk("", finish="stop"), "[DONE]")
    canned.answer("POST", "/v1/chat/completions", Reply(events=events))
    answer = _engine(canned).stream(_conversation(), SETTINGS, threading.Event())
    assert answer.text() == "Hello there"
    assert answer.stats.new_tokens == 3 and answer.stats.counted_from_stream
    assert answer.stats.prompt_tokens is None
    assert answer.stats.time_to_first_token_s is not None and answer.stats.tokens_per_s is not None
    caption = describe(answer.stats)
    assert "3 new tokens (counted from the stream)" in caption
    assert "prompt tokens not reported by the server" in caption


def test_a_servers_usage_is_taken_over_the_pieces_it_streamed(canned: CannedServer) -> None:
    usage = {"prompt_tokens": 41, "completion_tokens": 4, "total_tokens": 45}
    last = json.dumps({"object": "chat.completion.chunk", "model": MODEL, "choices": [], "usage": usage})
    events = (chunk("Hel"), chunk("lo"), chunk("", finish="stop"), last, "[DONE]")
    canned.answer("POST", "/v1/chat/completions", Reply(events=events))
    answer = _engine(canned).stream(_conversation(), SETTINGS, threading.Event())
    assert answer.text() == "Hello"
    assert (answer.stats.prompt_tokens, answer.stats.new_tokens) == (41, 4)  # a piece may hold two tokens
    assert not answer.stats.counted_from_stream
    assert "prompt 41 tokens" in describe(answer.stats) and "4 new tokens ·" in describe(answer.stats)


# -- API key: 401 / 403 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_api_key_says_to_check_it(canned: CannedServer, status: int) -> None:
    error, received, answer = _fail(canned, Reply(status, {"error": {"message": "Invalid API key"}}), api_key="sk-bad")
    assert str(error) == (
        f"The server at {canned.base_url} did not accept the API key. Check the API key on the Settings page."
    )
    assert error.detail == f"HTTP {status}: Invalid API key"
    assert error.text.render("zh") == f"服务器 {canned.base_url} 不接受这个 API 密钥。请在“设置”页面检查 API 密钥。"
    assert received == [] and answer.text() == ""
    assert canned.requests[-1].headers["Authorization"] == "Bearer sk-bad"
    assert canned.paths()[-1] == "POST /v1/chat/completions"  # no model-list lookup for an auth failure


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_api_key_on_the_model_list(canned: CannedServer, status: int) -> None:
    canned.answer("GET", "/v1/models", Reply(status, {"error": {"message": "Missing API key"}}))
    expected = f"The server at {canned.base_url} did not accept the API key. Check the API key on the Settings page."
    with pytest.raises(EngineError) as caught:
        list_models(ServerSpec(canned.base_url, MODEL, api_key="sk-bad"))
    assert str(caught.value) == expected
    assert canned.requests[-1].headers["Authorization"] == "Bearer sk-bad"
    # The engine asks /v1/models first (what server it is): the same message, before any chat request.
    error, received, _ = _fail(canned, Reply(events=(chunk("never", finish="stop"),)), flavour="auto")
    assert str(error) == expected and received == []
    assert "POST /v1/chat/completions" not in canned.paths()


# -- 5xx ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (500, {"error": {"message": "CUDA out of memory", "type": "InternalServerError"}}, "CUDA out of memory"),
        (500, {"object": "error", "message": "engine dead", "code": 500}, "engine dead"),  # vLLM / LMDeploy
        (503, "  Service Unavailable\n", "Service Unavailable"),  # a proxy's plain text
    ],
)
def test_a_server_failure_says_to_check_its_log(canned: CannedServer, status: int, body: object, message: str) -> None:
    error, received, _ = _fail(canned, Reply(status, body))
    assert str(error) == (
        f"The server at {canned.base_url} had an internal error. Check the server's log, then send the question again."
    )
    assert error.detail == f"HTTP {status}: {message}"
    assert received == []
    assert canned.paths()[-1] == "POST /v1/chat/completions"


def test_a_server_failure_on_the_model_list(canned: CannedServer) -> None:
    canned.answer("GET", "/v1/models", Reply(502, {"error": {"message": "upstream down"}}))
    with pytest.raises(EngineError) as caught:
        list_models(canned.base_url)
    assert str(caught.value).startswith(f"The server at {canned.base_url} had an internal error.")
    assert caught.value.detail == "HTTP 502: upstream down"


@pytest.mark.parametrize("body", [{"object": "list"}, {"data": ["internvl"]}, {"data": [{"name": "internvl"}]}])
def test_a_model_list_that_is_not_a_list(canned: CannedServer, body: dict) -> None:
    canned.answer("GET", "/v1/models", Reply(body=body))
    with pytest.raises(EngineError) as caught:
        list_models(canned.base_url + "/v1")
    assert str(caught.value) == (
        f"The server at {canned.base_url}/v1 answered the request for its models with something that is not a "
        "model list. Check that the address points to an OpenAI-compatible server."
    )
    assert caught.value.detail == f"GET {canned.base_url}/v1/models: {json.dumps(body)}"


# -- 4xx with an error body --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"error": {"message": "max_tokens is too large", "type": "BadRequestError"}}, "max_tokens is too large"),
        (422, {"detail": "temperature: Input should be >= 0"}, "temperature: Input should be >= 0"),  # FastAPI
        (429, {"error": {"message": "Rate limit reached"}}, "Rate limit reached"),
    ],
)
def test_a_rejected_request_quotes_the_server(canned: CannedServer, status: int, body: object, message: str) -> None:
    error, received, _ = _fail(canned, Reply(status, body))
    assert str(error) == (
        f"The server at {canned.base_url} refused the request. Check the settings (for example the answer "
        "length) and try again; the details below give the server's reason."
    )
    assert error.detail == f"HTTP {status}: {message}"
    assert received == []


@pytest.mark.parametrize(
    ("message", "tokens", "limit"),
    [
        (  # vLLM before its v1 engine, and OpenAI itself
            "This model's maximum context length is 4096 tokens. However, you requested 4600 tokens "
            "(4088 in the messages, 512 in the completion). Please reduce the length of the messages or completion.",
            4600,
            4096,
        ),
        ("The decoder prompt (length 5951) is longer than the maximum model length of 4096.", 5951, 4096),  # vLLM v1
        (
            "max_tokens is too large: 512. This model's maximum context length is 4096 tokens and your request "
            "has 3700 input tokens (512 > 4096 - 3700).",
            4212,
            4096,
        ),
    ],
)
def test_a_prompt_past_the_servers_context_window_says_what_to_shorten(
    canned: CannedServer, message: str, tokens: int, limit: int
) -> None:
    error, received, _ = _fail(canned, Reply(400, {"object": "error", "message": message, "code": 400}))
    assert str(error) == (
        f"This question does not fit into what the model on the server can read at once: the request needs "
        f"{tokens} tokens and the model's context window is {limit} tokens. Ask a shorter question, attach fewer "
        "images or video frames, lower the answer length (max new tokens), or start a new conversation."
    )
    assert error.text.render("zh").startswith(
        f"这个问题超出了服务器上的模型一次能读取的长度：请求需要 {tokens} 个 token"
    )
    assert error.detail == f"HTTP 400: {message}" and received == []


def test_a_context_refusal_without_numbers_still_says_what_to_shorten(canned: CannedServer) -> None:
    error, _, _ = _fail(canned, Reply(400, {"detail": "Input exceeds session_len"}))
    assert error.text.key == "remote.context_full_unknown"
    assert str(error).startswith("This question does not fit into what the model on the server can read at once")


def test_a_404_for_a_served_model_is_a_missing_endpoint(canned: CannedServer) -> None:
    error, _, _ = _fail(canned, Reply(404, {"error": {"message": "route not found"}}))
    assert str(error) == (
        f"The server at {canned.base_url} has no such endpoint or model (404). Check the address: give the "
        "server's base address, such as http://host:port."
    )
    assert error.detail == "HTTP 404: route not found"
    # The model list was asked (the model is served, so the 404 is not about it).
    assert canned.paths() == ["POST /v1/chat/completions", "GET /v1/models"]


@pytest.mark.parametrize("status", [400, 404, 422])
def test_an_unknown_model_names_the_served_ones(canned: CannedServer, status: int) -> None:
    reply = Reply(status, {"error": {"message": "The model `nope` does not exist."}})
    error, _, _ = _fail(canned, reply, model="nope")
    assert str(error) == (
        f"The server does not serve the model nope; it serves: {MODEL}, other/model. Choose one of these on the "
        "Settings page."
    )
    assert error.text.render("zh") == (
        f"服务器没有提供模型 nope；它提供的是：{MODEL}, other/model。请在“设置”页面从中选择一个。"
    )


def test_a_rejected_request_when_the_model_list_fails_too(canned: CannedServer) -> None:
    canned.answer("GET", "/v1/models", Reply(500, "boom"))
    error, _, _ = _fail(canned, Reply(400, {"error": {"message": "bad model"}}), model="nope")
    assert str(error).startswith(f"The server at {canned.base_url} refused the request.")
    assert error.detail == "HTTP 400: bad model"
    assert canned.paths() == ["POST /v1/chat/completions", "GET /v1/models"]


# -- an error event inside the stream ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "detail"),
    [
        (
            {"error": {"message": "CUDA out of memory", "type": "InternalServerError", "code": 500}},
            "CUDA out of memory",
        ),
        ({"object": "error", "message": "generation aborted", "code": 400}, "generation aborted"),  # vLLM / LMDeploy
        ({"error": "overloaded"}, "overloaded"),
    ],
)
def test_an_error_event_mid_stream_keeps_the_partial_answer(canned: CannedServer, event: dict, detail: str) -> None:
    events = (chunk("The cat "), chunk("sits"), json.dumps(event), chunk(" never sent"), "[DONE]")
    error, received, answer = _fail(canned, Reply(events=events))
    assert str(error) == (
        "The server failed while answering, so the answer is incomplete. Send the question again; if it keeps "
        "failing, check the server's log."
    )
    assert error.detail == detail
    assert received == ["The cat ", "sits"]
    assert answer.text() == "The cat sits"
    assert answer.stats.new_tokens == 2


def test_an_error_event_before_any_text(canned: CannedServer) -> None:
    events = (json.dumps({"error": {"message": "engine dead"}}),)
    error, received, answer = _fail(canned, Reply(events=events))
    assert str(error).startswith("The server failed while answering, so the answer is incomplete.")
    assert error.detail == "engine dead"
    assert received == [] and answer.text() == ""
    assert answer.stats.time_to_first_token_s is None


def test_an_error_event_about_the_context_window_says_what_to_shorten(canned: CannedServer) -> None:
    events = (json.dumps({"error": {"message": "prompt too long"}}),)
    error, received, answer = _fail(canned, Reply(events=events))
    assert error.text.key == "remote.context_full_unknown" and error.detail == "prompt too long"
    assert received == [] and answer.text() == ""
    assert answer.stats.time_to_first_token_s is None


# -- malformed events --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        '{"choices": [{"delta": {"content": "x"',  # cut off
        "<html>502 Bad Gateway</html>",
        "x" * 200,  # quoted up to 120 characters
        "42",  # JSON, but not an event object
        '["a", "b"]',
        "null",  # was read as the end of the stream: a cut-off answer passed as complete
    ],
)
def test_a_malformed_event_keeps_the_partial_answer(canned: CannedServer, garbage: str) -> None:
    events = (chunk("Two "), chunk("words"), garbage, chunk(" more", finish="stop"), "[DONE]")
    error, received, answer = _fail(canned, Reply(events=events))
    assert str(error) == MALFORMED
    assert error.detail == f"a malformed stream event: {garbage[:120]!r}"
    assert received == ["Two ", "words"]
    assert answer.text() == "Two words"


@pytest.mark.parametrize(
    "event",
    [
        {"choices": ["x"]},
        {"choices": {"delta": {"content": "x"}}},
        {"choices": [{"delta": "x"}]},
        {"choices": [{"delta": {"content": 42}}]},
    ],
)
def test_a_wrongly_shaped_event_is_malformed_not_a_crash(canned: CannedServer, event: dict) -> None:
    garbage = json.dumps(event)
    events = (chunk("Two "), chunk("words"), garbage, chunk(" more", finish="stop"), "[DONE]")
    error, received, answer = _fail(canned, Reply(events=events))
    assert str(error) == MALFORMED
    assert error.detail == f"a malformed stream event: {garbage[:120]!r}"
    assert received == ["Two ", "words"]
    assert answer.text() == "Two words"


def test_comments_and_named_events_are_not_malformed(canned: CannedServer) -> None:
    canned.answer(
        "POST",
        "/v1/chat/completions",
        Reply(events=(chunk("a"), chunk("b", finish="stop") + "\n\n: ping\nevent: done\nretry: 10", "[DONE]")),
    )
    assert _engine(canned).stream(_conversation(), SETTINGS, threading.Event()).text() == "ab"


# -- streams that stop early -------------------------------------------------------------------------------------


def test_a_stream_that_ends_without_finishing(canned: CannedServer) -> None:
    error, received, answer = _fail(canned, Reply(events=(chunk("Half "), chunk("an answer"))))
    assert str(error) == (
        f"The server at {canned.base_url} ended the answer before it was finished, so it is incomplete. "
        "Send the question again; if it keeps happening, check the server's log."
    )
    assert received == ["Half ", "an answer"] and answer.text() == "Half an answer"


def test_a_connection_broken_mid_answer(canned: CannedServer) -> None:
    error, received, answer = _fail(canned, Reply(events=(chunk("Half "), chunk("an answer")), cut_short=True))
    assert str(error) == (
        f"The connection to the server at {canned.base_url} was lost in the middle of the answer, so the answer "
        "is incomplete. If the server stopped, start it again; then send the question again."
    )
    assert error.detail.startswith("RemoteProtocolError: ")
    assert received == ["Half ", "an answer"] and answer.text() == "Half an answer"


# -- read timeout: the server accepts but goes silent ------------------------------------------------------------


def test_a_server_that_never_answers_times_out(canned: CannedServer) -> None:
    error, received, answer = _fail(canned, Reply(hang="before headers"))
    assert str(error) == (
        f"The server at {canned.base_url} did not answer within {TIMEOUT_S:g} s. It may be busy or still loading "
        "the model: wait a little, then send the question again."
    )
    assert error.text.render("zh").startswith(f"服务器 {canned.base_url} 在 {TIMEOUT_S:g} 秒内没有回应。")
    assert received == [] and answer.text() == ""


def test_a_server_that_goes_silent_mid_answer_keeps_the_partial_answer(canned: CannedServer) -> None:
    error, received, answer = _fail(canned, Reply(events=(chunk("Still "), chunk("thinking")), hang="after events"))
    assert str(error) == (
        f"The server at {canned.base_url} stopped sending the answer for more than {TIMEOUT_S:g} s, so the answer "
        "is incomplete. Send the question again."
    )
    assert received == ["Still ", "thinking"]
    assert answer.text() == "Still thinking"
    assert answer.stats.new_tokens == 2 and answer.stats.time_to_first_token_s is not None


def test_a_silent_model_list_times_out(canned: CannedServer) -> None:
    canned.answer("GET", "/v1/models", Reply(hang="before headers"))
    with pytest.raises(EngineError) as caught:
        list_models(canned.base_url, timeout=TIMEOUT_S)
    assert str(caught.value) == (
        f"The server at {canned.base_url} did not answer in time. Check that the address is right and that the "
        "server is running."
    )


# -- vLLM's own ways (issue 20): its refusals, its tile budget, a leading space, empty-text tokens ---------------


def test_a_vllm_that_refuses_our_tile_budget_is_asked_again_without_it(canned: CannedServer) -> None:
    refusal = {"object": "error", "message": "mm_processor_kwargs is not allowed: start with --trust-request-mm-kwargs"}
    answers = iter([Reply(400, refusal), Reply(events=(chunk("Hi"), chunk("", finish="stop"), "[DONE]"))])

    class Scripted(dict):
        def get(self, key, default=None):  # the chat route answers the refusal first, then the answer
            return next(answers) if key == ("POST", "/v1/chat/completions") else super().get(key, default)

    canned.routes = Scripted(canned.routes)
    engine = _engine(canned, flavour="vllm")
    assert engine.stream(_conversation(), SETTINGS, threading.Event()).text() == "Hi"
    sent = [r.body for r in canned.requests if r.path == "/v1/chat/completions"]
    assert "mm_processor_kwargs" in sent[0] and "mm_processor_kwargs" not in sent[1]
    assert engine.server_tile_budget  # and later questions do not try again
    assert "mm_processor_kwargs" not in engine.request_body(_conversation(), SETTINGS)


@pytest.mark.parametrize(
    ("message", "key", "params"),
    [
        (
            "Input length (4297) exceeds model's maximum context length (4096).",
            "remote.context_full",
            {"tokens": 4297, "limit": 4096},
        ),
        ("At most 16 image(s) may be provided in one prompt.", "remote.too_many_images", {"limit": 16}),
    ],
)
def test_vllms_refusals_about_images_get_their_own_messages(
    canned: CannedServer, message: str, key: str, params: dict
) -> None:
    error, _, _ = _fail(canned, Reply(400, {"object": "error", "message": message}), flavour="vllm")
    assert (error.text.key, error.text.params) == (key, params)
    assert message in (error.detail or "")


def test_an_answer_does_not_start_with_a_space_and_empty_tokens_still_time_it(canned: CannedServer) -> None:
    opener = json.dumps(
        {"object": "chat.completion.chunk", "choices": [{"delta": {"role": "assistant", "content": ""}}]}
    )
    events = (opener, chunk(""), chunk(" Hel"), chunk("lo "), chunk("", finish="stop"), "[DONE]")
    canned.answer("POST", "/v1/chat/completions", Reply(events=events))
    answer = _engine(canned).stream(_conversation(), SETTINGS, threading.Event())
    assert answer.text() == "Hello "
    stats = answer.stats
    assert stats.time_to_first_token_s is not None
    # Every chunk came in one burst: the rate is taken over the whole request, never from a zero-length window.
    assert stats.tokens_per_s is not None and stats.tokens_per_s <= stats.new_tokens / stats.time_to_first_token_s
