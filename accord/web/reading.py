"""Request bodies read within a bound: nothing larger is ever held in memory."""

from __future__ import annotations

from starlette.requests import Request


async def body_within(request: Request, limit: int) -> bytes | None:
    """The body, or None as soon as it is known to be over ``limit`` bytes: the declared length is
    checked before anything is read, and a body without one (chunked) is counted as it arrives."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)
