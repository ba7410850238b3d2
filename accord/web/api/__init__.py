"""The HTTP JSON API (mounted at /api/v1): every action on partnerships and escalations, for programs.

    curl -H "Authorization: Bearer $KEY" http://localhost:8000/api/v1/partnerships

Every action goes through :class:`accord.client.Accord`, so it reaches the workflow by
the same update, with the same validation, as the CLI, the pages and a plain Temporal
update: one endpoint per update (tasks, statements, the alignment override, decisions and
delegations, MOU revisions, review inputs and outcomes, metrics, amendments, closing,
escalations). A refusal by the workflow is a 409 with the workflow's own message; a request
that cannot be valid is a 422; an unknown partnership or escalation is a 404. Text fields
are bounded far above the workflows' own limits, so those limits and their messages decide
(``FIELD_BOUND``). With ``Settings.api_decisions`` off, decisions and delegations are refused
(403): approvers then decide only through their signed email links (or the CLI).

Authentication: ``Authorization: Bearer <key>``, checked before anything else is read
(an ASGI middleware, so a bad body cannot get a 422 in before the 401). A key-like query
parameter (``?api_key=``, ``?token=``...) is refused with a 400 that says to use the header. Keys are
configured hashed (``Settings.api_keys``), each with a name and a role: ``ops`` may act,
``viewer`` may only read (GET). Without a key, a person signed in to the web app (the
session the sign-in guard found, accord/web/auth/) is taken with their role instead. The
caller's name (the key's, or ``ops:<person>``) is recorded as who raised an escalation;
for the other actions the workflow names a stakeholder (or ``ops``), given in the body,
and the caller's name goes to the log.

The OpenAPI schema is at /api/v1/openapi.json, interactive docs at /api/v1/docs
(Swagger UI served from this app: no CDN, and a CSP that allows only this origin).

This module assembles the API (``create``) and reads the definitions requests carry (parsed in
a worker thread); the endpoints are routers by concern (``partnerships``, ``approvals``,
``screening``, ``mou``, ``operating``, ``amendments``, ``escalations``), made with one
:class:`~accord.web.api.calls.Api`; ``guards`` checks keys and body sizes before any of them
runs, ``bodies`` holds what they read and answer, ``docs`` the interactive docs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from accord.client import Accord
from accord.config import Settings
from accord.web.api import (
    amendments,
    approvals,
    docs,
    escalations,
    mou,
    operating,
    partnerships,
    screening,
)
from accord.web.api.bodies import MAX_REQUEST_BYTES, problems_of
from accord.web.api.calls import Answer, Api
from accord.web.api.guards import BoundedBody, RequireKey
from accord.web.problems import temporal_unreachable
from definitions.loader import MAX_TEXT, DefinitionError, Issue, decode, parse
from definitions.schema import PartnershipDefinition

log = logging.getLogger("accord.api")

MAX_DEFINITION_BYTES = MAX_TEXT  # the loader's own limit on a definition file, in bytes
JSON_TYPES = ("application/json",)
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain")

DESCRIPTION = """Partnerships and escalations, for programs. Authenticate with an API key:
`Authorization: Bearer <key>` (`accord apikey create NAME --role ops|viewer`). `ops` keys may
act; `viewer` keys may only read. Every action reaches the partnership's workflow through the
same update, with the same validation, as the CLI and the email links."""


def create(settings: Settings, accord: Callable[[], Accord]) -> FastAPI:
    """The API as an app of its own, to mount at /api/v1; ``accord`` returns the shared client."""
    api = FastAPI(
        title="Accord API", version="1", description=DESCRIPTION,
        openapi_url="/openapi.json", docs_url=None, redoc_url=None,
    )
    public_paths = {"/openapi.json", "/docs", "/docs/init.js"}
    api.add_middleware(BoundedBody, limit=MAX_REQUEST_BYTES)  # inside RequireKey: nothing is read without a key
    api.add_middleware(
        RequireKey, keys=settings.api_keys,
        public=lambda path: path in public_paths or path.startswith("/docs/assets/"),
    )

    @api.exception_handler(Answer)
    async def answer(request: Request, exc: Answer) -> Response:
        return JSONResponse(exc.body, exc.status)

    @api.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        if temporal_unreachable(exc):
            log.warning("Temporal unreachable on %s %s: %s", request.method, request.url.path, exc)
            return JSONResponse({"detail": "Accord cannot reach Temporal right now; nothing was read or changed. "
                                 "Please try again in a few minutes."}, 503)
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path, exc_info=exc)
        return JSONResponse({"detail": "Something went wrong; please try again in a minute."}, 500)

    api_calls = Api(settings, accord, lambda request: _definition_from(request, settings.definition_checks()))
    for endpoints in (partnerships, approvals, screening, mou, operating, amendments, escalations):
        api.include_router(endpoints.router(api_calls))
    docs.install(api)

    def openapi() -> dict[str, Any]:
        if api.openapi_schema is None:
            schema = get_openapi(title=api.title, version=api.version, description=api.description, routes=api.routes)
            docs.add_definition_schema(schema)
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]  # FastAPI documents replacing openapi() on the app
    return api


# ---------------------------------------------------------------------- definitions in requests

BODY_FILE = "request body"


async def _definition_from(request: Request, checks: dict[str, Any]) -> PartnershipDefinition | JSONResponse:
    """The definition a request carries (JSON or YAML), or a 4xx answer listing every problem
    (``checks``: the deployment's options for the loader, ``Settings.definition_checks()``)."""
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    is_json = media in JSON_TYPES or media.endswith("+json")
    if not is_json and media not in YAML_TYPES:
        return JSONResponse({"detail": f"Send the definition as application/json or application/yaml (not {media or 'nothing'})."}, 415)
    raw = await _body_within(request, MAX_DEFINITION_BYTES)
    if raw is None:
        return JSONResponse({"detail": f"The definition is larger than {MAX_DEFINITION_BYTES:,} bytes, "
                                       "the most a definition may be."}, 413)
    # Parsing is bounded (definitions.loader's limits) but can take a few hundred milliseconds:
    # in a worker thread, so the event loop goes on serving everyone else meanwhile.
    return await run_in_threadpool(_definition_in, raw, is_json, checks)


async def _body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be larger than ``limit`` bytes: the declared
    length is checked before anything is read, and a body without one (chunked) is counted as it
    arrives, so nothing larger is ever held in memory."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _definition_in(raw: bytes, is_json: bool, checks: dict[str, Any]) -> PartnershipDefinition | JSONResponse:
    checks = {**checks, "all_problems": True}  # every problem in one answer, as `accord validate` reports them
    try:
        text = decode(raw, BODY_FILE)
        if not is_json:
            return parse(text, BODY_FILE, **checks)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            return _problems([Issue(BODY_FILE, exc.lineno, "(json)", f"not valid JSON: {exc.msg}")])
        except ValueError:  # Python refuses to read an integer of more than 4,300 digits
            return _problems([Issue(BODY_FILE, 1, "(json)", "a number has too many digits")])
        except RecursionError:
            return _problems([Issue(BODY_FILE, 1, "(json)", "nested too deeply")])
        try:
            # JSON is YAML: the loader then reports problems at the body's own lines.
            return parse(text, BODY_FILE, **checks)
        except DefinitionError as exc:
            if "\t" not in text or not any(i.path == "(yaml)" for i in exc.issues):
                raise
            # The rare JSON that YAML reads differently (tabs between tokens): re-indent it.
            return parse(json.dumps(data, indent=2, ensure_ascii=False), BODY_FILE, **checks)
    except DefinitionError as exc:
        return _problems(exc.issues)
    except RecursionError:  # only if json.dumps meets what json.loads could just read
        return _problems([Issue(BODY_FILE, 1, "(json)", "nested too deeply")])


def _problems(issues: list[Issue]) -> JSONResponse:
    return JSONResponse({"detail": f"The definition has {len(issues)} problem(s).", "problems": problems_of(issues)}, 422)
