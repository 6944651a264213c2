"""The base of the backend's errors: a message for people (a key of the `i18n` table) and the technical detail.

Every error the backend shows to users (loading, answering, the store, a conversation, settings)
derives from `BackendError`, an `i18n.ExplainedError`: the pages show `text` in the visitor's
language with `detail` folded away, and `str(error)` is the English message for the CLI and logs.

The backend raises with a table key and its values (`LoadError("load.not_found", checkpoint=...)`)
or with a ready `Text`. A caller that still passes a worded sentence (an older CLI or page) gets
it shown as it is in every language instead of a crash over an unknown key.

>>> str(BackendError("load.no_gpu"))
"The GPU (cuda) was asked for, but no GPU is visible. Choose 'auto' or 'cpu'."
>>> BackendError("something already in words").text.render("zh")
'something already in words'
"""

from __future__ import annotations

import re

from i18n import DEFAULT_LANGUAGE, TABLE, ExplainedError, Text

#: What a key of the table looks like (`area.name`): such a string is never taken for a worded message.
_KEY = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)+")


class BackendError(ExplainedError):
    """An `ExplainedError` raised with a key and values, a `Text`, or (for callers not converted yet) words."""

    def __init__(self, message: str | Text, /, detail: str | None = None, **params: object) -> None:
        if not isinstance(message, Text):
            if message in TABLE[DEFAULT_LANGUAGE]:
                message = Text(message, params)
            elif _KEY.fullmatch(message):
                raise KeyError(f"No string {message!r} in the i18n table")
            else:
                message = Text("errors.as_written", {"message": message})
        super().__init__(message.key, detail=detail, **{**message.params, **params})
