"""The codec endpoint the Temporal UI (and `temporal --codec-endpoint`) calls to show encrypted payloads.

    POST /codec/decode    {"payloads": [{"metadata": {...}, "data": "<base64>"}]}  ->  the same, decoded
    POST /codec/encode    the reverse (for sending signals or updates from the UI)

Temporal's remote codec protocol: protobuf JSON of ``Payloads``, the namespace in the
``X-Namespace`` header. Behind sign-in like everything else (the guard, policy.py): decode
needs the viewer or ops role, encode the ops role; an API key (``Authorization: Bearer``,
what `temporal --codec-auth` sends) is not taken here, only a session. The UI calls from its
own origin with the session cookie ("Include cross-origin credentials" in its codec
settings): that origin must be in ``codec_cors_origins`` (default: temporal_ui_url's).
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from accord.codec import CodecError, codec_for
from accord.config import Settings
from accord.web.reading import body_within

log = logging.getLogger("accord.web.codec")

# Temporal refuses payloads over 2 MB; a page of the UI asks for a few at once.
MAX_BODY_BYTES = 8 * 1024 * 1024
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"


def router(settings: Settings) -> APIRouter:
    routes = APIRouter()
    codec = codec_for(settings)
    origins = {o.rstrip("/") for o in settings.codec_cors_origins} or {_origin(settings.temporal_ui_url)}

    def cors(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin is None or origin not in origins:
            return {"Vary": "Origin"}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}

    @routes.options("/codec/{operation}")
    async def preflight(request: Request, operation: str) -> Response:
        headers = cors(request)
        if "Access-Control-Allow-Origin" not in headers:
            return Response(status_code=403, headers=headers)
        return Response(status_code=204, headers={**headers, "Access-Control-Allow-Methods": "POST",
                                                  "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                                                  "Access-Control-Max-Age": "600"})

    async def run(request: Request, decode: bool) -> Response:
        headers = cors(request)

        def answer(body: dict, status: int) -> JSONResponse:
            return JSONResponse(body, status, headers=headers)

        if codec is None:
            return answer({"detail": "Payloads are not encrypted here (codec_keys is not set)."}, 404)
        namespace = request.headers.get("x-namespace")
        if namespace is not None and namespace != settings.temporal_namespace:
            return answer({"detail": f"This codec serves the namespace {settings.temporal_namespace!r} only."}, 400)
        if (request.headers.get("content-type") or "").split(";")[0].strip().lower() != "application/json":
            return answer({"detail": "Send the payloads as application/json."}, 415)
        body = await body_within(request, MAX_BODY_BYTES)
        if body is None:
            return answer({"detail": f"At most {MAX_BODY_BYTES:,} bytes at once."}, 413)
        try:
            payloads = json_format.Parse(body, Payloads(), ignore_unknown_fields=True)
        except (json_format.ParseError, ValueError, RecursionError):
            return answer({"detail": 'Send {"payloads": [...]} as Temporal\'s codec protocol does.'}, 400)
        try:
            done = await (codec.decode if decode else codec.encode)(list(payloads.payloads))
        except CodecError as exc:
            return answer({"detail": str(exc)}, 400)
        return answer(json_format.MessageToDict(Payloads(payloads=done)), 200)

    @routes.post("/codec/decode")
    async def decode(request: Request) -> Response:
        return await run(request, decode=True)

    @routes.post("/codec/encode")
    async def encode(request: Request) -> Response:
        return await run(request, decode=False)

    return routes


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
