"""Browser tests: Chromium on the test server (tests/fixtures/browser.py)."""

from tests.fixtures.browser_context import browser_context_args as browser_context_args
