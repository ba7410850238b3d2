"""The local outbox (/outbox): the emails the file backend wrote, listed and shown (404 when
mail goes to a provider instead)."""

from __future__ import annotations

from email.message import EmailMessage

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from accord.web import mailbox
from accord.web.problems import Problem
from accord.web.site import PAGE, Site

# The framed email keeps its own inline styles but gets no scripts, forms or remote loads.
EMAIL_FRAME_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",
}


def router(site: Site) -> APIRouter:
    routes = APIRouter()

    def no_outbox() -> Problem:
        return Problem(404, "No outbox", "Mail is delivered by a provider here; there is no local outbox.")

    def outbox_mail(name: str) -> EmailMessage:
        if not site.outbox_enabled:
            raise no_outbox()
        if not mailbox.valid_name(name):
            raise Problem(400, "Not an email name", "Email names are hexadecimal file names from the outbox list.")
        mail = mailbox.find(site.settings.outbox_dir, name)
        if mail is None:
            raise Problem(404, "No such email", "The outbox has no email by that name.")
        return mail

    @routes.api_route("/outbox", **PAGE)
    async def outbox_list(request: Request) -> Response:
        if not site.outbox_enabled:
            raise no_outbox()
        return site.render(request, "outbox.html", {"mails": mailbox.summaries(site.settings.outbox_dir)})

    @routes.api_route("/outbox/{name}", **PAGE)
    async def outbox_show(request: Request, name: str) -> Response:
        mail = outbox_mail(name)
        return site.render(request, "email.html", {
            "name": name, "subject": str(mail["Subject"] or ""), "headers": mailbox.headers(mail),
            "text": mailbox.linkified_text(mail),
        })

    @routes.api_route("/outbox/{name}/html", **PAGE)
    async def outbox_html(name: str) -> Response:
        return HTMLResponse(mailbox.framed_html(outbox_mail(name)), headers=EMAIL_FRAME_HEADERS)

    return routes
