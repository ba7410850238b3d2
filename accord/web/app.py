"""The web app: its middleware, error pages and routers assembled in one place.

    app = create_app(settings)            # connects to Temporal at startup
    app = create_app(settings, accord)    # or shares an existing client (tests, `accord up`)

The pages live in accord/web/routes/ (one router per concern, sharing one
:class:`~accord.web.site.Site`), the JSON API in accord/web/api/ (its own app, mounted at
/api/v1), sign-in in accord/web/auth/. Accord's own state (documents, provider events, sign-in
sessions) comes from one store per app (accord/storage/: PostgreSQL shared by every instance,
or SQLite and files in the data folder), opened at startup: a PostgreSQL schema behind the
code stops the start.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import MutableHeaders

from accord.client import Accord
from accord.config import Settings
from accord.storage import SharedStorage, StorageUnavailable, describe_storage
from accord.web import api, auth, codec, headers, webhooks
from accord.web.api.guards import RefuseKeysInUrl
from accord.web.problems import (
    Problem,
    storage_down,
    temporal_down,
    temporal_unreachable,
)
from accord.web.redact import redact
from accord.web.routes import (
    dashboard,
    health,
    links,
    mou_revision,
    outbox,
    partnership,
)
from accord.web.site import Render, Site
from accord.web.templating import templates

log = logging.getLogger("accord.web")


def create_app(settings: Settings, accord: Accord | None = None, shared: SharedStorage | None = None) -> FastAPI:
    """``shared``: the store to use (``serve`` opens it first); by default the configured one."""
    # Documents, provider events, sessions and sign-in tickets: opened at startup (or on first
    # use); SQLite and files in data_dir, or PostgreSQL when database_url is set.
    storage = shared or SharedStorage(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await open_storage_at_start(storage, settings)
        if app.state.accord is None:
            # Lazy: the app starts (and /readyz says "not ready") while Temporal is not up yet.
            app.state.accord = await Accord.connect(settings, lazy=True)
        yield
        await storage.close()

    app = FastAPI(title="Accord", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.accord = accord
    # Sign-in required everywhere but the public routes (accord/web/auth/policy.py), API included;
    # inside SecurityHeaders (added last, so outermost), which then covers its answers too.
    app.add_middleware(auth.SignInRequired, settings=settings, store=storage,
                       render=lambda *args: render(*args))
    app.add_middleware(RefuseKeysInUrl)
    app.add_middleware(headers.SecurityHeaders)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.include_router(webhooks.router(settings, storage))
    # The JSON API: its own app (schema, docs, API-key auth, JSON errors), sharing the client.
    app.mount("/api/v1", api.create(settings, lambda: app.state.accord))
    pages = templates()
    outbox_enabled = settings.mail_backend == "outbox"

    def render(request: Request, name: str, context: dict[str, Any] | None = None, status: int = 200) -> Response:
        return pages.TemplateResponse(request, name, {
            "outbox_enabled": outbox_enabled, **auth.page_context(settings, request), **(context or {}),
        }, status_code=status)

    app.include_router(auth.router(settings, storage, render))
    app.include_router(codec.router(settings))
    install_error_pages(app, render)
    site = Site(settings, storage, lambda: app.state.accord, render)
    # In this order: the status route's {workflow_id:path} comes after the MOU routes it would swallow.
    for pages_of in (health, dashboard, mou_revision, partnership, outbox, links):
        app.include_router(pages_of.router(site))
    return app


def install_error_pages(app: FastAPI, render: Render) -> None:
    """A Problem raised anywhere is its page; anything else is a 503 (Temporal or the database
    unreachable) or a 500, never a traceback."""

    @app.exception_handler(Problem)
    async def problem_page(request: Request, exc: Problem) -> Response:
        return render(request, "problem.html", _problem_context(request, exc), exc.status)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        # Runs outside the middleware stack, so the security headers are set here.
        if temporal_unreachable(exc):
            log.warning("Temporal unreachable on %s %s: %s", request.method, redact(request.url.path), exc)
            problem = temporal_down()
        elif isinstance(exc, StorageUnavailable):
            log.warning("storage unreachable on %s %s: %s", request.method, redact(request.url.path), exc)
            problem = storage_down()
        else:
            log.error("unhandled %s on %s %s", type(exc).__name__, request.method, redact(request.url.path))
            problem = Problem(500, "Something went wrong", "Please try again in a minute.")
        response = render(request, "problem.html", _problem_context(request, problem), problem.status)
        headers.apply(MutableHeaders(raw=response.raw_headers))
        return response


def _problem_context(request: Request, problem: Problem) -> dict[str, Any]:
    return {"problem": problem, "personal": request.url.path.startswith("/a/"), "posted": request.method == "POST"}


async def open_storage_at_start(storage: SharedStorage, settings: Settings) -> None:
    """Open the store before serving: a PostgreSQL schema behind the code (SchemaNotCurrent, a
    ConfigError) stops the start; an unreachable database is logged and opened on first use
    (the pages that need it answer 503 meanwhile, as for Temporal)."""
    try:
        await storage.open()
    except StorageUnavailable as exc:
        log.warning("Accord's storage (%s) is not reachable yet: %s", describe_storage(settings), exc)
