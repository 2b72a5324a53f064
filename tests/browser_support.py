"""Kept only for bench/sync.py, which imports CHROMIUM, CHROMIUM_ARGS and LiveServer from here.

The browser helpers live in tests/support/browser.py; delete this file once bench/sync.py imports
them from tests.support.browser. Test modules must not use it."""
from .support.browser import CHROMIUM, CHROMIUM_ARGS, LiveServer

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "LiveServer"]
