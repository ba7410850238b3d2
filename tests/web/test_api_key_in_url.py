"""An API key put in a URL is refused by the API, and never written to the access log.

URLs are logged (uvicorn's access log, proxies) and kept in browser and shell histories, so a
key in a query string is as good as published. The API answers 400 saying to use the
Authorization header, even when the header is there too; the access log redacts such values
on every route, whoever sent them (a key-like parameter on a page, a token in a link).
"""

from __future__ import annotations

import logging

import httpx
import pytest

from accord import apikeys
from accord.config import Settings
from accord.web import redact
from accord.web.app import create_app
from tests.support.browser import Collect, listen, serving

OPS_KEY, OPS = apikeys.create("deploy-bot", "ops")


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    settings.api_keys = [OPS]
    return settings


@pytest.mark.parametrize("query", ["api_key={key}", "key={key}", "token={key}", "API-Key={key}", "access_token={key}",
                                   "stage=screening&apikey={key}", "api%5Fkey={key}", "token="])
async def test_a_key_like_query_parameter_is_refused_with_a_pointer_to_the_header(api_settings, query):
    app = create_app(api_settings, object())  # type: ignore[arg-type]  # refused before any client call
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
        for headers in ({}, {"Authorization": f"Bearer {OPS_KEY}"}):
            response = await http.get(f"/api/v1/partnerships?{query.format(key=OPS_KEY)}", headers=headers)
            assert response.status_code == 400, response.text
            detail = response.json()["detail"]
            assert "Authorization: Bearer" in detail and "URL" in detail
            assert OPS_KEY not in detail
        # Also on the public paths and for writes: no route takes a key from the URL.
        assert (await http.get(f"/api/v1/openapi.json?{query.format(key=OPS_KEY)}")).status_code == 400
        assert (await http.post(f"/api/v1/partnerships?{query.format(key=OPS_KEY)}", json={})).status_code == 400


async def test_ordinary_query_parameters_still_reach_the_key_check(api_settings):
    app = create_app(api_settings, object())  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
        assert (await http.get("/api/v1/partnerships?stage=screening&monkey=1")).status_code == 401
        assert (await http.get("/api/v1/openapi.json?keyboard=1")).status_code == 200


async def test_the_access_log_never_shows_a_key_or_token_from_a_url(api_settings):
    secrets = {"api": "acc_SECRET-ONE", "page": "SECRET-TWO", "link": "SECRET-THREE", "path": "eyJTOKEN-FOUR"}
    listener, base = listen(api_settings)
    access_log = Collect()
    async with serving(api_settings, object(), listener, access_log), httpx.AsyncClient(base_url=base) as http:  # type: ignore[arg-type]
        assert (await http.get(f"/api/v1/partnerships?api_key={secrets['api']}")).status_code == 400
        await http.get(f"/outbox?stage=x&Token={secrets['page']}")
        await http.get(f"/a/{secrets['path']}?access-token={secrets['link']}&keep=visible")
    logged = "\n".join(access_log.lines)
    assert len(access_log.lines) == 3, logged
    for secret in secrets.values():
        assert secret not in logged
    assert "api_key=<redacted>" in logged and "Token=<redacted>" in logged and "stage=x" in logged
    assert "/a/<redacted>?access-token=<redacted>&keep=visible" in logged


def test_redaction_of_log_text():
    assert redact.redact("GET /x?key=abc&limit=5 HTTP/1.1") == "GET /x?key=<redacted>&limit=5 HTTP/1.1"
    assert redact.redact('"GET /x?monkey=1&password=p%20w" 200') == '"GET /x?monkey=1&password=<redacted>" 200'
    assert redact.redact("/api/v1/partnerships?stage=active") == "/api/v1/partnerships?stage=active"
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5000", "GET", "/api/v1/partnerships?apiKey=acc_x", "1.1", 400), None)
    assert redact.RedactActionTokens().filter(record)
    assert "acc_x" not in record.getMessage()
