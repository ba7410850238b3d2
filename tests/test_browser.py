"""A person in a real browser: outbox -> email -> action link -> form -> confirmation.

Headless Chromium from the system (CI installs the Debian package); the app runs under
uvicorn on a free localhost port in the test's event loop, beside the worker.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
from pathlib import Path

import pytest

from accord.mail import outbox
from accord.models import Channel, TaskStatus
from accord.web.server import build_server
from tests.conftest import running_worker
from tests.web_helpers import until, mail_for, mails, screening_definition

pytestmark = pytest.mark.browser

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


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


async def test_person_completes_a_task_from_the_outbox(dev_env, settings, accord_for, tmp_path):
    from playwright.async_api import async_playwright, expect

    executable = chromium_path()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    # Before the worker starts: the email activity builds links from it.
    settings.web_base_url = base
    accord = accord_for(dev_env)
    access_log = Collect()

    async with running_worker(dev_env.client, settings):
        wf = await accord.start(screening_definition())
        await until(lambda: mail_for(settings, "arun@acme.example", "Capability audit"))
        server = build_server(settings, accord, log_level="info")
        # After build_server: uvicorn's logging config replaces the logger's handlers.
        logging.getLogger("uvicorn.access").addHandler(access_log)
        serving = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            await until(lambda: server.started or serving.done())
            assert not serving.done(), "uvicorn did not start"
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                try:
                    page = await browser.new_page()
                    await page.goto(f"{base}/outbox")
                    await page.get_by_role("link", name="A task for you: Capability audit").click()
                    await expect(page.get_by_role("heading", level=1)).to_contain_text("Capability audit")

                    # The email's own button, inside the sandboxed frame, opens the action page.
                    await page.frame_locator("iframe.email").get_by_role("link", name="Complete this task").click()
                    await page.wait_for_url(f"{base}/a/**")
                    await expect(page.get_by_role("heading", level=1)).to_have_text("Capability audit")
                    assert "Due" in await page.locator("dl.facts").inner_text()

                    await page.get_by_label("Result or notes").fill("Audit done in the browser.")
                    await page.get_by_role("button", name="Mark done").click()
                    await expect(page.get_by_role("status")).to_contain_text("marked done")
                    await page.screenshot(path=str(tmp_path / "task-done.png"), full_page=True)
                finally:
                    await browser.close()
        finally:
            server.should_exit = True
            await serving
            logging.getLogger("uvicorn.access").removeHandler(access_log)

        task = (await accord.state(wf)).tasks["capability"]

    assert task.status == TaskStatus.done
    assert task.completed_by == "arun"
    assert task.channel == Channel.email_link
    assert task.result == "Audit done in the browser."
    assert (tmp_path / "task-done.png").stat().st_size > 0

    # The access log saw the action page, but never its token.
    tokens_sent = {line.split("/a/")[1].split()[0] for m in mails(settings)
                   for line in outbox.body(m, "plain").splitlines() if "/a/" in line}
    assert any("/a/<redacted>" in line for line in access_log.lines)
    assert not any(token in line for token in tokens_sent for line in access_log.lines)
