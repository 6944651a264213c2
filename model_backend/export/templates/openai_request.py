"""Send one question of a conversation recorded by InternVL Studio to an OpenAI-compatible server.

InternVL Studio wrote this file (Export > OpenAI request). It sends the last question of the
conversation with its whole history, the images as data URLs, and the generation settings the
app used, in the form this kind of server reads (LMDeploy `api_server`, vLLM `serve`, ...), then
prints the answer and whether it equals the one the app recorded.

    python request.py                        # the server the request was made for
    python request.py --url http://host:23333/v1/chat/completions

Needs `requests` (pip install requests).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import requests

# ---- recorded by InternVL Studio ----
URL = "http://127.0.0.1:23333/v1/chat/completions"
API_KEY_ENV = None  # the environment variable that holds the server's API key, when it needs one
# The answer the app recorded (None: it has none, or it was cut short).
APP_ANSWER = None


def request_body() -> dict:
    """The request, as the app sends it; the images are in DATA_URLS at the end of this file."""
    return {"model": "internvl", "messages": [{"role": "user", "content": "Hello"}], "stream": True}


# ---- end of recording ----


def answer_text(response: requests.Response, streamed: bool) -> str:
    """The answer's text, from a whole response or from its server-sent events."""
    if not streamed:
        return response.json()["choices"][0]["message"]["content"] or ""
    pieces = []
    for line in response.iter_lines(decode_unicode=True):
        if not line or not line.startswith("data:"):
            continue
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            break
        event = json.loads(data)
        for choice in event.get("choices") or []:
            piece = (choice.get("delta") or {}).get("content") or ""
            print(piece, end="", flush=True)
            pieces.append(piece)
    print()
    return "".join(pieces)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send an InternVL Studio request to an OpenAI-compatible server.")
    parser.add_argument("--url", default=URL, help=f"the chat completions endpoint (default: {URL})")
    args = parser.parse_args(argv)
    body = request_body()
    headers = {"Content-Type": "application/json"}
    if API_KEY_ENV and os.environ.get(API_KEY_ENV):
        headers["Authorization"] = f"Bearer {os.environ[API_KEY_ENV]}"
    streamed = bool(body.get("stream"))
    with requests.post(args.url, json=body, headers=headers, stream=streamed, timeout=(10, 600)) as response:
        if response.status_code >= 400:
            print(f"The server refused the request ({response.status_code}): {response.text}", file=sys.stderr)
            return 1
        answer = answer_text(response, streamed)
    if not streamed:
        print(answer)
    if APP_ANSWER is not None:
        print(f"Same as the app's answer: {'yes' if answer == APP_ANSWER else 'NO'}")
    return 0


# ---- the images, as data URLs ----
DATA_URLS: list[str] = []
# ---- end of the images ----

if __name__ == "__main__":
    sys.exit(main())
