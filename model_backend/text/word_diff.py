"""A word-level diff of two answers, for the Compare page (no Streamlit here).

Words are runs of non-space characters, so punctuation stays with its word ("cat." and "cat"
differ) and a change in spacing or line breaks alone is no difference. The result is a list of
runs, each of equal words or of words only in A or only in B, in reading order: for a
replacement the A words come before the B words.

>>> [(run.kind, run.text) for run in diff_words("A small red cat.", "A big red cat.")]
[('same', 'A'), ('a', 'small'), ('b', 'big'), ('same', 'red cat.')]
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["same", "a", "b"]
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class DiffRun:
    """Consecutive words that are in both answers (`same`), only in A (`a`) or only in B (`b`)."""

    kind: Kind
    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def diff_words(a: str, b: str) -> list[DiffRun]:
    """The runs that turn A's words into B's (see the module's docstring)."""
    left, right = words(a), words(b)
    # autojunk off: with it, words common in a long answer ("the") would be ignored as junk and
    # the diff would report shared text as changed.
    matcher = difflib.SequenceMatcher(a=left, b=right, autojunk=False)
    runs: list[DiffRun] = []
    for tag, a_start, a_end, b_start, b_end in matcher.get_opcodes():
        if tag == "equal":
            runs.append(DiffRun("same", tuple(left[a_start:a_end])))
            continue
        if a_end > a_start:
            runs.append(DiffRun("a", tuple(left[a_start:a_end])))
        if b_end > b_start:
            runs.append(DiffRun("b", tuple(right[b_start:b_end])))
    return runs


def shared_share(runs: list[DiffRun]) -> float:
    """The share of words the answers have in common: 2·same / (words of A + words of B); 1.0 for two empty answers.

    >>> shared_share(diff_words("a b c d", "a b x d"))
    0.75
    """
    same = sum(len(run.words) for run in runs if run.kind == "same")
    total = sum(len(run.words) * (2 if run.kind == "same" else 1) for run in runs)
    return 1.0 if total == 0 else 2 * same / total
