"""The one error type of preprocessing: a media file the app cannot use, explained to its user.

`MediaError` subclasses `ValueError` so callers that only know "bad input" still catch it. Its
message is shown in the browser as is, so it names the file problem in plain words and, where
there is one, the limit that was hit.
"""

from __future__ import annotations


class MediaError(ValueError):
    """An image or video cannot be used; the message says why, for an end user."""
