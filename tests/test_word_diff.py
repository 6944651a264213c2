"""The Compare page's word-level diff on hand-made examples."""

from __future__ import annotations

from model_backend.text.word_diff import DiffRun, diff_words, shared_share, words


def runs(a: str, b: str) -> list[tuple[str, str]]:
    return [(run.kind, run.text) for run in diff_words(a, b)]


def test_equal_answers_are_one_run_of_shared_words() -> None:
    assert runs("A cat on a mat.", "A cat on a mat.") == [("same", "A cat on a mat.")]
    assert shared_share(diff_words("A cat on a mat.", "A cat on a mat.")) == 1.0


def test_a_replaced_word_gives_the_a_words_then_the_b_words() -> None:
    assert runs("The sky is blue today", "The sky is grey today") == [
        ("same", "The sky is"),
        ("a", "blue"),
        ("b", "grey"),
        ("same", "today"),
    ]


def test_insertions_and_deletions() -> None:
    assert runs("one two three", "one two three four") == [("same", "one two three"), ("b", "four")]
    assert runs("zero one two", "one two") == [("a", "zero"), ("same", "one two")]


def test_spacing_and_line_breaks_are_no_difference_but_punctuation_is() -> None:
    assert runs("a  cat\n\nsat", "a cat sat") == [("same", "a cat sat")]
    assert runs("a cat.", "a cat") == [("same", "a"), ("a", "cat."), ("b", "cat")]


def test_empty_answers() -> None:
    assert runs("", "") == []
    assert runs("", "only b") == [("b", "only b")]
    assert runs("only a", "") == [("a", "only a")]
    assert shared_share([]) == 1.0
    assert shared_share(diff_words("x y", "")) == 0.0


def test_completely_different_answers() -> None:
    assert runs("red green", "blue") == [("a", "red green"), ("b", "blue")]


def test_common_words_of_a_long_answer_are_still_matched() -> None:
    # difflib's autojunk would treat "the" (over 1% of a 200+ word text) as junk and stop matching it.
    a = " ".join(["the cat"] * 150)
    b = a + " the end"
    assert runs(a, b) == [("same", a), ("b", "the end")]


def test_the_share_of_shared_words() -> None:
    assert shared_share(diff_words("a b c d", "a b x d")) == 0.75
    assert shared_share([DiffRun("same", ("a",)), DiffRun("b", ("b", "c"))]) == 0.5


def test_words_keep_markup_as_it_is() -> None:
    assert words("<b>bold</b> & 'quoted'") == ["<b>bold</b>", "&", "'quoted'"]
