"""The one way tests wait: on a condition, polled until it holds, never on a fixed sleep.

CI runs on a 2-core machine that may be heavily loaded, so a test must never assume how long something
takes. `timeout_s` is only an upper bound for a failure to be reported at all (generous: a loaded machine
is slow, not broken); no test asserts how long anything took.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def poll(condition: Callable[[], T], timeout_s: float, interval_s: float = 0.02) -> T:
    """`condition`'s first truthy result; its last (falsy) one when `timeout_s` has passed without one.

    The condition may record what it sees on each call: it is called again right after it returned
    falsy, with `interval_s` between calls so as not to spin a core.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval_s)  # between two checks of the condition (a poll, not a settle)


def wait_until(
    condition: Callable[[], T],
    timeout_s: float = 120.0,
    what: str | Callable[[], str] = "a condition",
    interval_s: float = 0.02,
) -> T:
    """Call `condition` until it returns something truthy, and return that (see `poll`).

    Fails the test naming `what` (a string, or a callable asked at the failure, e.g. for the last state
    seen) when it has not held within `timeout_s`.
    """
    result = poll(condition, timeout_s, interval_s)
    if not result:
        described = what() if callable(what) else what
        pytest.fail(f"timed out after {timeout_s:g} s waiting for {described}")
    return result
