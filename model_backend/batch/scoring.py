"""Scores of one prediction against its reference answers: exact, relaxed and ANLS.

- `exact_match`: the texts are equal once surrounding whitespace is stripped.
- `relaxed_match`: equal after normalising case, whitespace, punctuation and the articles
  a/an/the; two numbers match when the prediction is within 5 % of the reference (ChartQA's
  relaxed accuracy; a reference of 0 needs exactly 0).
- `anls`: DocVQA's Average Normalized Levenshtein Similarity for one question: 1 - the edit
  distance over the longer length (after lower-casing and collapsing whitespace), or 0 when
  that distance is 0.5 or more.

With several references (DocVQA lists every accepted answer) each score is the best over them.

>>> score("The Cat.", "cat")
{'exact': 0.0, 'relaxed': 1.0, 'anls': 0.0}
>>> relaxed_match("10.4", "10"), relaxed_match("10.6", "10")
(1.0, 0.0)
>>> round(anls("kitten", "sitting"), 4), anls("cat", "dog")
(0.5714, 0.0)
>>> round(anls("hello world", "hello word"), 4)
0.9091
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

ANLS_THRESHOLD = 0.5
RELAXED_TOLERANCE = 0.05
SCORE_NAMES = ("exact", "relaxed", "anls")
_ARTICLES = {"a", "an", "the"}
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?")

References = str | Sequence[str]


def exact_match(prediction: str, reference: str) -> float:
    return float(prediction.strip() == reference.strip())


def relaxed_match(prediction: str, reference: str, tolerance: float = RELAXED_TOLERANCE) -> float:
    """1.0 when the answers agree up to case, whitespace, punctuation, articles, or 5 % for numbers."""
    target, guess = _number(reference), _number(prediction)
    if target is not None and guess is not None:
        if target == 0:
            return float(guess == 0)
        return float(abs(guess - target) / abs(target) <= tolerance)
    return float(normalize(prediction) == normalize(reference))


def anls(prediction: str, reference: str, threshold: float = ANLS_THRESHOLD) -> float:
    """Normalised Levenshtein similarity, cut to 0 at `threshold` (DocVQA)."""
    a, b = _collapse(prediction), _collapse(reference)
    longest = max(len(a), len(b))
    if longest == 0:
        return 1.0
    distance = levenshtein(a, b) / longest
    return 1.0 - distance if distance < threshold else 0.0


def score(prediction: str, references: References) -> dict[str, float]:
    """Every score of `prediction`, each the best over `references` (one string or several)."""
    refs = [references] if isinstance(references, str) else list(references)
    if not refs:
        raise ValueError("no reference to score against")
    return {
        "exact": max(exact_match(prediction, ref) for ref in refs),
        "relaxed": max(relaxed_match(prediction, ref) for ref in refs),
        "anls": max(anls(prediction, ref) for ref in refs),
    }


def same_answer(a: str, b: str) -> bool:
    """Whether two predictions say the same once normalised as `relaxed_match` normalises.

    Two numbers are the same when they are equal ("1,234" and "1234."); other texts when they are
    equal after `normalize` (case, punctuation, articles, whitespace). Symmetric, unlike a score:
    no 5 % tolerance, since neither side is the reference. A/B runs call two rows' predictions
    agreeing with it.

    >>> same_answer("The Cat.", "cat"), same_answer("1,234", "1234."), same_answer("10.4", "10")
    (True, True, False)
    """
    first, second = _number(a), _number(b)
    if first is not None and second is not None:
        return first == second
    return normalize(a) == normalize(b)


def normalize(text: str) -> str:
    """Lower case, punctuation to spaces (apostrophes dropped), no articles, single spaces.

    >>> normalize("  The well-known  DOG's bone! ")
    'well known dogs bone'
    """
    text = text.lower().replace("'", "").replace("\u2019", "")
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return " ".join(word for word in text.split() if word not in _ARTICLES)


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions, each 1).

    >>> levenshtein("kitten", "sitting")
    3
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _collapse(text: str) -> str:
    return " ".join(text.strip().lower().split())


def _number(text: str) -> float | None:
    """The number `text` states on its own ("1,234", "12%", "$3.5", "42."), else None."""
    cleaned = text.strip().lower().replace(",", "").rstrip(".").strip()
    cleaned = cleaned.removeprefix("$").removesuffix("%").strip()
    if not _NUMBER.fullmatch(cleaned):
        return None
    return float(cleaned)
