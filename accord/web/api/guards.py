"""What is checked before any endpoint runs: no key in the URL, a key (or a signed-in person
with a role) on every request, ops for anything but reading, and a bound on every body.

These are ASGI middleware, so a bad body cannot get a 422 in before the 401, and nothing a
request carries is read without a key. ``api_key`` and ``ops_key`` are the dependencies the
endpoints declare (so the schema documents the scheme and which endpoints need ops).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Depends, HTTPException, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from accord import apikeys
from accord.config import ApiKey
from accord.web import redact
from accord.web.auth import PERSON, Person
from accord.web.auth.policy import is_api

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SCOPE_KEY = "accord.api_key"


@dataclass(frozen=True)
class Caller:
    """Who is calling: an API key (its name), or a signed-in person (``ops:<name>``)."""

    name: str
    role: Literal["ops", "viewer"] | None


def sent_by(caller: Caller, payload: Any) -> Any:
    """The payload with who sent it (an API key's name, or ``ops:<name>`` for a signed-in person)
    when that is not its actor: the record says "by API key X" beside whom it is for (rules 2)."""
    if "sent_by" not in type(payload).model_fields or caller.name == getattr(payload, "actor", None):
        return payload
    return payload.model_copy(update={"sent_by": caller.name})


class RefuseKeysInUrl:
    """A key-like query parameter (``?api_key=``, ``?token=``...) is refused before anything else,
    even beside a valid header and before sign-in is asked for: URLs end up in logs, proxies
    and browser histories, so a key sent there must be replaced, and the answer says so."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secrets = redact.secret_parameters(scope.get("query_string", b"")) if scope["type"] == "http" else []
        if secrets and is_api(scope["path"]):
            detail = (f"Do not send API keys in the URL (query parameter {secrets[0]!r}): send the key as "
                      "`Authorization: Bearer <key>`. If it was a real key, replace it (`accord apikey create`).")
            await JSONResponse({"detail": detail}, 400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


class RequireKey:
    """Every API request needs a configured key (or a signed-in person with a role); only ops
    may use other methods than GET.

    Checked before routing, body parsing or validation, so nothing a request carries is
    looked at without a key. The schema and the docs are public (they hold no data).
    """

    def __init__(self, app: ASGIApp, keys: list[ApiKey], public: Callable[[str], bool]):
        self.app = app
        self.keys = keys
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = _route_path(scope)
        method = scope["method"]
        if method in READ_METHODS and self.public(path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        presented = _bearer(headers.get("authorization"))
        person: Person | None = scope.get(PERSON)
        key: ApiKey | Caller | None = apikeys.find(self.keys, presented) if presented else None
        if key is None and person is not None and "authorization" not in headers:
            key = Caller(person.actor, person.role)  # the guard has checked the role and the origin
        if key is None:
            detail = ("This API key is not valid." if presented else
                      "An API key is required: send it as `Authorization: Bearer <key>`.")
            response: Response = JSONResponse({"detail": detail}, 401, headers={"WWW-Authenticate": "Bearer"})
        elif key.role is None:  # a signed-in person Accord gives no role (the guard refuses them first)
            response = JSONResponse({"detail": f"{key.name} has no role here."}, 403)
        elif method not in READ_METHODS and key.role != "ops":
            response = JSONResponse({"detail": f"The key {key.name!r} has the role {key.role!r}: it may only read."}, 403)
        else:
            scope[SCOPE_KEY] = Caller(key.name, key.role)
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


class BoundedBody:
    """Every request body is read up to ``limit`` bytes: it is counted as it arrives, and past
    the limit the read fails with a 413, so no endpoint ever holds or parses more. (Counted
    rather than judged by its declared length: the endpoints that take a definition refuse a
    larger declared length themselves, with their own smaller limit and message.)"""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        detail = f"The request body is larger than {self.limit:,} bytes, the most this API reads."
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            size += len(message.get("body", b""))
            if size > self.limit:
                raise HTTPException(413, detail)  # FastAPI answers it, wherever the body is being read
            return message

        await self.app(scope, counted, send)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _route_path(scope: Scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


bearer = HTTPBearer(auto_error=False, description="An API key made by `accord apikey create NAME --role ops|viewer`.")


def api_key(request: Request, _: HTTPAuthorizationCredentials | None = Security(bearer)) -> Caller:
    """The caller the middleware accepted (declared here so the schema documents the scheme)."""
    key = request.scope.get(SCOPE_KEY)
    if key is None:  # only if the app was assembled without the middleware
        raise HTTPException(401, "An API key is required.", headers={"WWW-Authenticate": "Bearer"})
    return key


def ops_key(key: Caller = Depends(api_key)) -> Caller:
    if key.role != "ops":
        raise HTTPException(403, f"The key {key.name!r} has the role {key.role!r}: it may only read.")
    return key
