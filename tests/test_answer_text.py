"""AnswerText: joined stream pieces equal what `chat` returns, `decoded.split(sep)[0].strip()`."""

from __future__ import annotations

import itertools
import random

import pytest

from model_backend.engines.answer_text import AnswerText


def _stream(text: str, cuts: list[int], sep: str) -> tuple[list[str], AnswerText]:
    answer = AnswerText(sep)
    edges = [0, *sorted(cuts), len(text)]
    pieces = [answer.feed(text[a:b]) for a, b in itertools.pairwise(edges)]
    pieces.append(answer.finish())
    return pieces, answer


@pytest.mark.parametrize("sep", ["<|im_end|>", "<|end|>", "</s>"])
def test_any_split_gives_chats_answer(sep: str) -> None:
    rng = random.Random(0)
    alphabet = ["a", "b", " ", "\n", "\t", "<", "|", "e", "n", "d", ">", "é", sep, sep[:3], sep[-2:]]
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        cuts = [rng.randint(0, len(text)) for _ in range(rng.randint(0, 5))]
        pieces, _ = _stream(text, cuts, sep)
        assert "".join(pieces) == text.split(sep)[0].strip(), (text, cuts)
        assert all(sep not in piece for piece in pieces)


def test_separator_split_over_pieces_is_cut_and_ends_the_answer() -> None:
    answer = AnswerText("<|end|>")
    assert answer.feed("Hello <|en") == "Hello"
    assert not answer.ended
    assert answer.feed("d|> more") == ""
    assert answer.ended
    assert answer.feed("later") == "" and answer.finish() == ""


def test_whitespace_is_held_until_more_text_arrives() -> None:
    answer = AnswerText("<|im_end|>")
    assert answer.feed("\n  one") == "one"
    assert answer.feed("  \n") == ""
    assert answer.feed("two") == "  \ntwo"
    assert answer.feed(" ") == ""
    assert answer.finish() == ""


def test_a_tail_that_only_looked_like_the_separator_is_released_at_the_end() -> None:
    answer = AnswerText("<|im_end|>")
    assert answer.feed("x <|im") == "x"
    assert answer.finish() == " <|im"
