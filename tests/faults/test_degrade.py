"""Temporal unreachable: every page and API call that needs it answers 503 with a clear message
(never a 500 or a traceback), and /readyz says why. The app is given a lazy client on an address
where nothing listens (what the web app has while Temporal is down)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from accord import apikeys, tokens
from accord.client import Accord
from accord.config import Settings
from accord.models import ActionLink
from accord.web import csrf
from accord.web.app import create_app
from tests.support.signin_helpers import sign_in


def dead_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"  # closed again: connections are refused


@pytest.fixture
async def down(settings: Settings):
    key, entry = apikeys.create("ops-bot", "ops")
    settings.temporal_address, settings.api_keys = dead_address(), [entry]
    app = create_app(settings, await Accord.connect(settings, lazy=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                                 base_url="http://accord.test") as http:
        await sign_in(http, settings)  # sessions live in Accord's own storage: signing in needs no Temporal
        yield http, key, settings


async def test_every_page_and_api_call_answers_503_when_temporal_is_unreachable(down):
    http, key, settings = down
    wf = "partnership-acme-x"
    link = ActionLink(action="task", ref="legal-review", round=0, expires_at=datetime.now(UTC) + timedelta(days=1))
    token = tokens.mint(wf, "nora", link, settings.keys)
    pages = [("GET", "/"), ("GET", f"/p/{wf}"), ("GET", f"/p/{wf}/mou/1"), ("GET", f"/a/{token}"), ("HEAD", f"/p/{wf}")]
    for method, path in pages:
        r = await http.request(method, path)
        assert r.status_code == 503, (path, r.status_code, r.text[:300])
        if method == "GET":
            assert "text/html" in r.headers["content-type"] and "Traceback" not in r.text
            assert "Temporal is not answering" in r.text or "cannot reach Temporal" in r.text, (path, r.text[:500])
    # A correct form post (CSRF cookie and field as the page would have set them) gets the same clear page.
    nonce = csrf.nonce(None)
    http.cookies.set(csrf.COOKIE, nonce)
    r = await http.post(f"/a/{token}", data={"result": "done", csrf.FIELD: csrf.field(settings.keys, nonce, token)})
    assert r.status_code == 503 and "cannot reach Temporal" in r.text, r.text[:500]

    api = {"Authorization": f"Bearer {key}"}
    calls = [("GET", "/partnerships", None), ("GET", "/partnerships/acme-x", None),
             ("GET", "/partnerships/acme-x/escalations", None), ("GET", "/partnerships/acme-x/escalations/esc-1", None),
             ("POST", "/partnerships/acme-x/escalations", {"reason": "Nobody answers"}),
             ("POST", "/partnerships/acme-x/tasks/legal-review/complete", {"actor": "nora"}),
             ("POST", "/partnerships/acme-x/escalations/esc-1/acknowledge", {"actor": "nora"})]
    for method, path, body in calls:
        r = await http.request(method, f"/api/v1{path}", json=body, headers=api)
        assert r.status_code == 503, (path, r.status_code, r.text)
        assert "Temporal" in r.json()["detail"], r.text

    ready = await http.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "not ready" and body["temporal_address"] == settings.temporal_address
    assert body["temporal"].startswith("unreachable: ") and len(body["temporal"]) > len("unreachable: RuntimeError"), body
    assert (await http.get("/healthz")).status_code == 200  # the process itself is fine
