"""The security tests reuse the browser tests' app server, Chromium and page (tests/browser/conftest.py)."""

from tests.browser.conftest import browser, page, server  # noqa: F401  (pytest finds fixtures by name)
