"""The sign-in pages: /signin, the identity provider's round trip, the local link, /signout."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.config import Settings
from accord.local_zone import machine_zone
from accord.storage import Storage, StorageError
from accord.web.auth import local, oidc, sessions
from accord.web.auth.guard import Render, person_of, safe_next
from accord.web.auth.sessions import secure

log = logging.getLogger("accord.web.auth")

MAX_CALLBACK_VALUE = 4096  # a code or state longer than this is not one a provider sent


def router(settings: Settings, store: Storage, render: Render) -> APIRouter:
    routes = APIRouter()
    provider = oidc.Provider(settings, store) if settings.oidc_enabled else None
    unusable = oidc.problem(settings) if settings.oidc_enabled else None
    binding_cookie = ("__Host-" if secure(settings) else "") + oidc.BINDING_COOKIE

    def page(request: Request, status: int = 200, **context: Any) -> Response:
        return render(request, "signin.html", {
            "oidc": provider is not None and unusable is None, "unusable": unusable,
            "next": safe_next(request.query_params.get("next")), **context,
        }, status)

    @routes.api_route("/signin", methods=["GET", "HEAD"], response_class=HTMLResponse)
    async def signin(request: Request) -> Response:
        return page(request, signed_out="out" in request.query_params)

    @routes.get("/signin/start")
    async def start(request: Request) -> Response:
        if provider is None or unusable is not None:
            return page(request, 404, error="Signing in through an identity provider is not configured here.")
        try:
            url, binding = await provider.begin(safe_next(request.query_params.get("next")))
        except oidc.SignInFailed as exc:
            return page(request, 502, error=str(exc))
        except StorageError:
            return page(request, 503, error="Accord cannot start a sign-in right now; please try again in a minute.")
        response = RedirectResponse(url, 303)
        response.set_cookie(binding_cookie, binding, max_age=int(oidc.TICKET_LIFETIME.total_seconds()),
                            path="/", httponly=True, samesite="lax", secure=secure(settings))
        return response

    @routes.get("/signin/callback")
    async def callback(request: Request) -> Response:
        if provider is None or unusable is not None:
            return page(request, 404, error="Signing in through an identity provider is not configured here.")
        query = request.query_params
        state, code, error = query.get("state", ""), query.get("code", ""), query.get("error")
        if error is not None:
            if 0 < len(state) <= MAX_CALLBACK_VALUE:
                await store.take_ticket(sessions.digest(state), oidc.TICKET_KIND)  # that attempt is over
            said = error[:100] + (f": {query.get('error_description', '')[:300]}" if query.get("error_description") else "")
            return page(request, 400, error=f"The identity provider did not sign you in ({said}).")
        if not (0 < len(state) <= MAX_CALLBACK_VALUE and 0 < len(code) <= MAX_CALLBACK_VALUE):
            return page(request, 400, error="This is not a sign-in Accord started. Please sign in again.")
        try:
            identity, next_page = await provider.finish(state, code, request.cookies.get(binding_cookie))
            response = RedirectResponse(next_page, 303)
            await sessions.start(store, settings, response, identity.name, identity.role, "oidc",
                                 zone=identity.zone, replacing=person_of(request))
        except oidc.SignInFailed as exc:
            return page(request, 400, error=str(exc))
        except StorageError:
            return page(request, 503, error="Accord cannot sign you in right now; please try again in a minute.")
        response.delete_cookie(binding_cookie, path="/", httponly=True, samesite="lax", secure=secure(settings))
        log.info("signed in: %s (%s) through the identity provider", identity.name, identity.role or "no role")
        return response

    @routes.get("/signin/local/{secret}")
    async def local_link(request: Request, secret: str) -> Response:
        if not local.from_this_machine(request):
            return page(request, 403, error="The local sign-in link works only in a browser on the machine that runs "
                                            "Accord, not through a proxy.")
        if len(secret) > 100 or not await local.redeem(store, secret):
            return page(request, 403, error="This local sign-in link was used already or is older than ten minutes. "
                                            "Run `accord signin-link` on that machine for a new one.")
        response = RedirectResponse("/", 303)
        # The link opens only in a browser on this machine: its person keeps this machine's clock.
        await sessions.start(store, settings, response, local.OPERATOR, "ops", "local", zone=machine_zone(),
                             replacing=person_of(request))
        log.info("signed in: the local operator, with the one-time link")
        return response

    @routes.post("/signout", response_class=HTMLResponse)
    async def signout(request: Request) -> Response:
        person = person_of(request)
        form = await request.form()
        if person is not None and not sessions.csrf_valid(settings, person, form.get(sessions.CSRF_FIELD)):
            return render(request, "signin_forbidden.html", {
                "detail": "This sign-out form could not be verified. Use the Sign out button on an Accord page."}, 403)
        response = RedirectResponse("/signin?out", 303)
        await sessions.end(store, settings, person, response)
        if person is not None:
            log.info("signed out: %s", person.name)
        return response

    return routes


def page_context(settings: Settings, request: Request) -> dict[str, Any]:
    """What every page needs to show who is signed in and offer to sign out, and the zone its
    times are shown in (the person's own; a page reached by a signed link sets its recipient's)."""
    person = person_of(request)
    if person is None:
        return {"person": None}
    return {"person": person, "signout_csrf": sessions.csrf_token(settings, person), "signout_field": sessions.CSRF_FIELD,
            "reader_zone": person.zone}
