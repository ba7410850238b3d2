"""The one gate: every request to the web app passes here before any route sees it.

Applied in create_app around everything, the JSON API mounted at /api/v1 included. A request
to a route that policy.py does not list as public needs a signed-in person with the role the
request needs; the API also takes its own keys (``Authorization: Bearer``), which it checks
itself. Anonymous requests get a redirect to the sign-in page (a page in a browser) or a
401; a person without the role gets a 403 that says who they are signed in as and what to
ask for. The person is left in the ASGI scope (``PERSON``) for routes and pages.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from accord.config import Settings
from accord.storage import Storage, StorageError
from accord.web.auth import sessions
from accord.web.auth.policy import Need, is_api, need, wants_page
from accord.web.auth.sessions import Person

log = logging.getLogger("accord.web.auth")

PERSON = "accord.person"
MAX_NEXT = 2000  # the page to return to after signing in, as a path

Render = Callable[[Request, str, dict, int], Response]


def person_of(request: Request) -> Person | None:
    return request.scope.get(PERSON)


class SignInRequired:
    def __init__(self, app: ASGIApp, settings: Settings, store: Storage, render: Render):
        self.app = app
        self.settings = settings
        self.store = store
        self.render = render
        self.origin = _origin(settings.web_base_url)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        required = need(method, path)
        request = Request(scope)
        # Public routes need no session, except the sign-in pages (which say who is signed in).
        wanted = required is not Need.PUBLIC or path.startswith("/signin")
        try:
            person = await sessions.current(self.store, self.settings, request) if wanted else None
        except StorageError as exc:
            log.warning("cannot read sessions: %s", exc)
            if required is not Need.PUBLIC:
                await _unavailable()(scope, receive, send)
                return
            person = None
        scope[PERSON] = person
        answer = self._refusal(request, required, person)
        if answer is None:
            await self.app(scope, receive, send)
        else:
            await answer(scope, receive, send)

    def _refusal(self, request: Request, required: Need, person: Person | None) -> Response | None:
        method, path = request.method, request.url.path
        if required is Need.PUBLIC:
            return None
        if is_api(path) and "authorization" in request.headers:
            return None  # an API key: the API checks it (it answers 401/403 itself)
        if person is None:
            if path == "/signout":  # the session had ended already: signed out all the same
                return RedirectResponse("/signin?out", 303)
            if wants_page(method, path):
                target = _next_of(request)
                return RedirectResponse("/signin" + (f"?next={quote(target, safe='/')}" if target != "/" else ""), 303)
            headers = {"WWW-Authenticate": "Bearer"} if is_api(path) else {}
            return JSONResponse({"detail": "Sign in first (or, for the API, send an API key)."}, 401, headers=headers)
        if required is Need.SIGNED_IN:
            return None
        if person.role is None or (required is Need.OPS and person.role != "ops"):
            return self._forbidden(request, person, required)
        if method not in ("GET", "HEAD", "OPTIONS") and not self._same_origin(request):
            return JSONResponse({"detail": "This request came from another site; it was refused."}, 403)
        return None

    def _forbidden(self, request: Request, person: Person, required: Need) -> Response:
        if person.role is None:
            detail = (f"You are signed in as {person.name}, but Accord gives you no role. Ask whoever runs "
                      f"Accord for the viewer role (to read) or the ops role (to act).")
        else:
            detail = (f"You are signed in as {person.name} with the role {person.role}, which may only read. "
                      f"This needs the ops role: ask whoever runs Accord for it.")
        if not wants_page(request.method, request.url.path):
            return JSONResponse({"detail": detail}, 403)
        return self.render(request, "signin_forbidden.html", {"detail": detail, "needed": required.value}, 403)

    def _same_origin(self, request: Request) -> bool:
        """A cookie rides along on requests other sites make: acting needs them to come from here.
        The codec endpoint answers the Temporal UI by its own CORS list (accord/web/codec.py)."""
        if request.url.path.startswith("/codec/"):
            return True
        origin = request.headers.get("origin")
        site = request.headers.get("sec-fetch-site")
        if origin == "null":
            # A form posted from a page with Referrer-Policy: no-referrer (every Accord page) says
            # Origin: null; so does a sandboxed frame anywhere. The browser's Sec-Fetch-Site tells which.
            return site == "same-origin"
        if origin is not None:
            return origin == self.origin
        return site is None or site in ("same-origin", "none")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _next_of(request: Request) -> str:
    """Where to come back to: this path (and query), never another site."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return target if len(target) <= MAX_NEXT else "/"


def safe_next(value: object) -> str:
    """A page to return to after signing in: a local path, else the dashboard (no open redirect)."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or len(value) > MAX_NEXT:
        return "/"
    if "\\" in value or any(ord(c) < 0x20 for c in value):
        return "/"
    return value


def _unavailable() -> Response:
    return JSONResponse({"detail": "Accord cannot check your sign-in right now; please try again in a minute."}, 503)
