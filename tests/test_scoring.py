"""Scores against values computed by hand (see each comment for the arithmetic)."""

from __future__ import annotations

import pytest

from model_backend.batch.scoring import anls, exact_match, levenshtein, normalize, relaxed_match, score


def test_exact_match_only_forgives_surrounding_whitespace() -> None:
    assert exact_match("  A cat.\n", "A cat.") == 1.0
    assert exact_match("a cat.", "A cat.") == 0.0
    assert exact_match("A cat", "A cat.") == 0.0


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("The Cat.", "cat", 1.0),  # case, article, punctuation
        ("a  red\tcar", "Red car!", 1.0),  # whitespace
        ("well-known", "well known", 1.0),  # a hyphen is a word break
        ("dog's", "dogs", 1.0),  # apostrophes are dropped
        ("theatre", "atre", 0.0),  # "the" inside a word is not an article
        ("cat", "dog", 0.0),
        ("10.4", "10", 1.0),  # |10.4 - 10| / 10 = 0.04 <= 0.05
        ("10.6", "10", 0.0),  # 0.06 > 0.05
        ("95", "100", 1.0),  # exactly 5 %
        ("1,050", "1000", 1.0),  # thousands separator; 0.05
        ("12%", "12.5", 1.0),  # 0.5 / 12.5 = 0.04
        ("$3.5", "3.5", 1.0),
        ("0", "0", 1.0),
        ("0.01", "0", 0.0),  # a reference of 0 needs exactly 0
        ("-2", "2", 0.0),  # |-2 - 2| / 2 = 2
        ("42.", "42", 1.0),  # a sentence-ending full stop
        ("42 apples", "42", 0.0),  # not a bare number: compared as text
    ],
)
def test_relaxed_match(prediction: str, reference: str, expected: float) -> None:
    assert relaxed_match(prediction, reference) == expected


def test_levenshtein_by_hand() -> None:
    assert levenshtein("kitten", "sitting") == 3  # k->s, e->i, +g
    assert levenshtein("", "abc") == 3
    assert levenshtein("flaw", "lawn") == 2  # -f, +n
    assert levenshtein("same", "same") == 0


@pytest.mark.parametrize(
    ("prediction", "reference", "expected"),
    [
        ("kitten", "sitting", 1 - 3 / 7),  # distance 3, longer length 7: 0.43 < 0.5
        ("hello world", "hello word", 1 - 1 / 11),
        ("  HELLO   World ", "hello world", 1.0),  # lower-cased, whitespace collapsed
        ("abcd", "abef", 0.0),  # 2 / 4 = 0.5: at the threshold counts as wrong
        ("abcde", "abcxy", 1 - 2 / 5),  # 2 / 5 = 0.4 < 0.5
        ("cat", "dog", 0.0),  # 3 / 3
        ("", "", 1.0),
    ],
)
def test_anls(prediction: str, reference: str, expected: float) -> None:
    assert anls(prediction, reference) == pytest.approx(expected)


def test_several_references_take_the_best_of_each_score() -> None:
    result = score("Paris", ["paris, france", "Paris", "Lyon"])
    assert result == {"exact": 1.0, "relaxed": 1.0, "anls": 1.0}
    result = score("the cat", ["A Cat", "dog"])
    # exact: neither; relaxed: "cat" == "cat"; anls: "the" -> "a" is 3 edits (t->a, -h, -e), 3 / 7 -> 4/7
    assert result == {"exact": 0.0, "relaxed": 1.0, "anls": pytest.approx(4 / 7)}
    with pytest.raises(ValueError):
        score("x", [])


def test_normalize() -> None:
    assert normalize("  The well-known  DOG's bone! ") == "well known dogs bone"
    assert normalize("An apple, a pear.") == "apple pear"
