"""Headless Chromium from the system and the web app under uvicorn on a free localhost port, for
the tests that drive pages as a person would."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from accord.client import Accord
from accord.config import Settings
from accord.web.server import build_server
from tests.support.web_helpers import until

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.skip("Chromium not found (install the `chromium` package; CI does). Not using `playwright install`.")
    return path


@asynccontextmanager
async def chromium(executable: str):
    """Debian's Chromium, headless, closed whatever the test does."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def listen(settings: Settings) -> tuple[socket.socket, str]:
    """A socket on a free localhost port; the settings' base URL points at it.

    Call it before the worker starts: the email activity builds links from the base URL.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{listener.getsockname()[1]}"
    settings.web_base_url = base
    return listener, base


@asynccontextmanager
async def serving(settings: Settings, accord: Accord, listener: socket.socket,
                  access_log: logging.Handler | None = None) -> AsyncIterator[None]:
    """The web app under uvicorn in this event loop, until the block ends."""
    server = build_server(settings, accord, log_level="info")
    if access_log is not None:
        # After build_server: uvicorn's logging config replaces the logger's handlers.
        logging.getLogger("uvicorn.access").addHandler(access_log)
    running = asyncio.create_task(server.serve(sockets=[listener]))
    try:
        await until(lambda: server.started or running.done())
        assert not running.done(), "uvicorn did not start"
        yield
    finally:
        server.should_exit = True
        await running
        if access_log is not None:
            logging.getLogger("uvicorn.access").removeHandler(access_log)
