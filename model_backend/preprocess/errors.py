"""The one error type of preprocessing: a media file the app cannot use, explained to its user.

`MediaError` subclasses `ValueError` so callers that only know "bad input" still catch it. It
carries its message as a key of the `i18n` table (the pages show it in the visitor's language,
`str()` gives English) and keeps the library's own words, if any, apart in `detail`.
"""

from __future__ import annotations

from i18n import ExplainedError


class MediaError(ExplainedError, ValueError):
    """An image or video cannot be used; `text` says why, for an end user, `detail` for a developer."""
