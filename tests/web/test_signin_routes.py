"""Protected by default: every route of the app, the mounted API and static files included,
refuses an anonymous request unless it is on the explicit public list.

The walk takes the routes from the app itself (recursively through mounts), fills their
path parameters, and sends each method the route has, plus GET and POST, with no cookie
and no key. A new route that forgets protection cannot exist: the guard sits in front of
all of them, and this test fails if any answer is anything but a redirect to sign-in, a
401 or a 403.
"""

from __future__ import annotations

import re

import httpx
from starlette.routing import BaseRoute, Mount

from accord.client import Accord
from accord.config import Settings
from accord.web.app import create_app

# The public routes, by path pattern: health checks, action links and their stylesheet, the
# signed webhook, signing in, and the API's schema and docs (which hold no data).
PUBLIC = {
    "/healthz", "/readyz", "/a/{token}", "/static/{path}", "/webhooks/sendgrid",
    "/signin", "/signin/start", "/signin/callback", "/signin/local/{secret}",
    "/api/v1/openapi.json", "/api/v1/docs", "/api/v1/docs/init.js", "/api/v1/docs/assets/{path}",
}
# CORS preflights to the codec endpoint carry no credentials by design; they answer headers only.
PUBLIC_PREFLIGHT = {"/codec/{operation}"}
VALUES = {"int": "1", "path": "partnership-acme/x"}


def walk(routes: list[BaseRoute], prefix: str = "") -> list[tuple[str, set[str]]]:
    """(path pattern, methods) of every route, through mounts."""
    found: list[tuple[str, set[str]]] = []
    for route in routes:
        if isinstance(route, Mount):
            inner = getattr(route, "routes", None) or []
            if inner:
                found += walk(list(inner), prefix + route.path)
            else:  # a mounted app without routes of its own (static files)
                found.append((prefix + route.path + "/{path}", {"GET", "HEAD"}))
        elif hasattr(route, "original_router"):  # FastAPI's include_router keeps the router itself
            found += walk(list(route.original_router.routes), prefix + getattr(route.include_context, "prefix", ""))
        else:
            found.append((prefix + route.path, set(getattr(route, "methods", None) or {"GET"})))
    return found


def filled(pattern: str) -> str:
    def value(match: re.Match) -> str:
        kind = match.group(2) or "str"
        return VALUES.get(kind, "x1")

    return re.sub(r"\{(\w+)(?::(\w+))?\}", value, pattern)


async def test_every_route_refuses_anonymous_requests_except_the_public_ones(dev_env, settings: Settings):
    app = create_app(settings, Accord(dev_env.client, settings))
    routes = walk(app.routes)
    patterns = {p for p, _ in routes}
    assert PUBLIC <= patterns, f"public routes that no longer exist: {PUBLIC - patterns}"
    for must in ("/", "/p/{workflow_id:path}", "/outbox", "/api/v1/partnerships", "/codec/{operation}", "/signout"):
        assert must in patterns  # the walk sees the pages, the mounted API and the codec

    checked = 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=settings.web_base_url) as http:
        for pattern, methods in routes:
            path = filled(pattern)
            for method in sorted(methods | {"GET", "POST"}):
                if pattern in PUBLIC or (method == "OPTIONS" and pattern in PUBLIC_PREFLIGHT):
                    r = await http.request(method, path)
                    assert r.status_code < 500, (method, path, r.status_code)
                    continue
                r = await http.request(method, path)
                checked += 1
                if r.status_code == 303:
                    assert r.headers["location"].startswith("/signin"), (method, path, r.headers["location"])
                else:
                    assert r.status_code in (401, 403), (method, path, r.status_code, r.text[:300])
    assert checked > 30
