"""Security headers on every response (ASGI middleware, so streaming and HEAD work too).

A route may set its own Content-Security-Policy or X-Frame-Options (the outbox email
frame does); everything else gets the strict defaults.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)

# Tokens live in URLs: no referrer may carry them off, no cache may keep them.
ALWAYS = {
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Robots-Tag": "noindex, nofollow",
}
DEFAULTS = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
}


def apply(headers: MutableHeaders) -> None:
    for name, value in ALWAYS.items():
        headers[name] = value
    for name, value in DEFAULTS.items():
        headers.setdefault(name, value)


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply(MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)
