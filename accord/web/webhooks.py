"""Provider webhooks: SendGrid's signed Event Webhook.

    POST /webhooks/sendgrid

SendGrid posts a JSON array of events (processed, delivered, deferred, bounce, dropped,
open, click...). Each event carries the email's custom_args as top-level fields, so ours
have ``send_key`` and ``workflow_id``. Anyone can post here, so in this order:

1. the size: a declared ``Content-Length`` over :data:`MAX_BODY_BYTES` is refused (413)
   before anything is read, and the body is read in chunks up to that bound (413 past it);
2. the signature, over the raw body, with the ``X-Twilio-Email-Event-Webhook-Signature`` and
   ``-Timestamp`` headers and the account's verification key
   (ACCORD_SENDGRID_WEBHOOK_PUBLIC_KEY), with the real ``sendgrid.EventWebhook``; the
   timestamp, which the signature covers, must be within ``sendgrid_webhook_tolerance``
   seconds of now (default 300), so a captured request cannot be replayed later. Anything
   unsigned, tampered with or stale gets 403 and changes nothing;
3. the body: a JSON array of at most :data:`MAX_EVENTS` objects whose fields we read have
   the types and lengths SendGrid sends. Anything else (not JSON, nested too deeply, wrong
   types, huge strings...) is a 400 that names the problem, and changes nothing.

Every event about one of our emails is kept in Accord's storage (accord/storage/, shared
by every web instance), once per ``sg_event_id`` (SendGrid delivers at least once, and may
deliver one batch to two instances at once). A ``bounce`` or ``dropped`` also goes to the
partnership workflow as an ``email_event`` signal: the recipient did not get the email.
If Temporal or the storage cannot be reached the answer is 503 and SendGrid retries; events
already recorded are not recorded twice and the workflow is told only once.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from cryptography.exceptions import UnsupportedAlgorithm
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from temporalio.service import RPCError, RPCStatusCode

from accord.config import Settings
from accord.models import EmailEvent
from accord.storage import Storage, StorageUnavailable

log = logging.getLogger("accord.web.webhooks")

# The recipient never got the email: the workflow must know (the signatory is unreachable).
NOTIFY_EVENTS = frozenset({"bounce", "dropped"})
# SendGrid posts a batch when it reaches 768 KB (or every 30 s): room to spare, no more.
MAX_BODY_BYTES = 1024 * 1024
MAX_EVENTS = 10_000
MAX_REASON_CHARS = 1000  # what is kept of a bounce reason


def router(settings: Settings, store: Storage) -> APIRouter:
    routes = APIRouter()
    verifier = _verifier(settings.sendgrid_webhook_public_key)

    @routes.post("/webhooks/sendgrid")
    async def sendgrid_events(request: Request) -> JSONResponse:
        body = await _read_bounded(request, MAX_BODY_BYTES)
        if isinstance(body, JSONResponse):
            return body
        refused = _unverified(verifier, body, request.headers, settings.sendgrid_webhook_tolerance)
        if refused is not None:
            return JSONResponse({"error": refused}, status_code=403)
        events = _events(body)
        if isinstance(events, str):
            log.warning("SendGrid webhook: signed body refused: %s", events)
            return JSONResponse({"error": events}, status_code=400)

        accord = request.app.state.accord
        recorded = duplicates = ignored = 0
        try:
            for event in events:
                if event is None:
                    ignored += 1
                    continue
                try:
                    stored = await store.record_event(event.event_id, event.send_key, event.event, event.reason,
                                                      event.at)
                except ValueError:  # an id or key the storage refuses (too long, a NUL): not one we sent
                    ignored += 1
                    continue
                recorded += stored.new
                duplicates += not stored.new
                if event.event in NOTIFY_EVENTS and event.workflow_id and stored.entry.notified_at is None \
                        and not await _notify(accord, store, event):
                    # Temporal is unavailable: SendGrid retries the whole batch later;
                    # what is recorded stays recorded, and is not recorded twice.
                    return JSONResponse({"error": "try again later"}, status_code=503)
        except StorageUnavailable as exc:
            log.warning("SendGrid webhook: storage unavailable, SendGrid will retry: %s", exc)
            return JSONResponse({"error": "try again later"}, status_code=503)
        return JSONResponse({"recorded": recorded, "duplicates": duplicates, "ignored": ignored})

    return routes


# ---------------------------------------------------------------------- verification


def _verifier(public_key: str | None) -> tuple[EventWebhook, Any] | None:
    if not public_key:
        return None
    helper = EventWebhook()
    key = public_key.strip()
    # Accept the key as SendGrid shows it (base64 DER) or as a PEM block.
    if key.startswith("-----BEGIN"):
        key = "".join(line for line in key.splitlines() if not line.startswith("-----"))
    try:
        return helper, helper.convert_public_key_to_ecdsa(key)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"ACCORD_SENDGRID_WEBHOOK_PUBLIC_KEY is not a valid public key: {exc}") from None


async def _read_bounded(request: Request, limit: int) -> bytes | JSONResponse:
    """The raw body, or a 4xx answer: too large is refused before (or while) it is read."""
    too_large = JSONResponse({"error": f"the body is larger than {limit:,} bytes"}, status_code=413)
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            return JSONResponse({"error": "Content-Length is not a number"}, status_code=400)
        if int(declared) > limit:
            return too_large
    body = bytearray()
    async for chunk in request.stream():  # also bounds a chunked body, which declares no length
        body += chunk
        if len(body) > limit:
            return too_large
    return bytes(body)


def _unverified(verifier: tuple[EventWebhook, Any] | None, body: bytes, headers: Any, tolerance: float) -> str | None:
    """Why the request is not a genuine, fresh SendGrid request; None if it is."""
    if verifier is None:
        log.error("SendGrid webhook refused: ACCORD_SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
        return "signature not verified"
    signature = headers.get(EventWebhookHeader.SIGNATURE)
    timestamp = headers.get(EventWebhookHeader.TIMESTAMP)
    if not signature or not timestamp:
        return "signature not verified"
    # Unix seconds; checked before the signature (cheap), trusted only once it verifies too.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "signature not verified"
    if abs(time.time() - int(timestamp)) > tolerance:
        log.warning("SendGrid webhook refused: timestamp %s is more than %g s from now", timestamp, tolerance)
        return "signature timestamp outside the tolerance (a replay, or a clock far off)"
    helper, key = verifier
    try:
        # The helper signs text: the raw body must be UTF-8 (JSON always is).
        verified = helper.verify_signature(body.decode("utf-8"), signature, timestamp, key)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        verified = False
    return None if verified else "signature not verified"


# ---------------------------------------------------------------------- events


# The fields we read, as SendGrid sends them; others are ignored. Strict: a number is not a
# string, and every string is bounded.
Short = Annotated[str, Field(max_length=1000)]
Long = Annotated[str, Field(max_length=100_000)]


class _Incoming(BaseModel):
    model_config = ConfigDict(extra="ignore", strict=True)

    event: Short | None = None
    send_key: Short | None = None
    workflow_id: Short | None = None
    sg_event_id: Short | None = None
    type: Short | None = None
    # bounce/dropped: "reason"; deferred/delivered: the receiving server's "response".
    reason: Long | None = None
    response: Long | None = None
    # Unix seconds, up to the end of year 9999 (what a datetime holds).
    timestamp: Annotated[float, Field(ge=0, lt=253_402_300_800, allow_inf_nan=False)] | None = None


_OBJECTS = TypeAdapter(list[dict[str, Any]])
_FIELDS = TypeAdapter(list[_Incoming])


def _events(body: bytes) -> list[_Event | None] | str:
    """Each event (None: not one of ours), or why the body is malformed."""
    try:
        data = json.loads(body, parse_constant=_no_constants)
    except RecursionError:
        return "the JSON is nested too deeply"
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of thousands of digits
        return f"the body is not JSON: {str(exc)[:200]}"
    if not isinstance(data, list):
        return "expected a JSON array of events"
    if len(data) > MAX_EVENTS:
        return f"more than {MAX_EVENTS:,} events in one batch"
    try:
        raws = _OBJECTS.validate_python(data)
        fields = _FIELDS.validate_python(raws)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"event {where}: {first['msg']}"
    try:
        return [_ours(f, raw) for f, raw in zip(fields, raws, strict=True)]
    except RecursionError:  # hashing an event without an id, nested as deep as json allowed
        return "the JSON is nested too deeply"


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@dataclass(frozen=True)
class _Event:
    event_id: str
    send_key: str
    workflow_id: str
    event: str
    reason: str
    at: datetime


def _ours(fields: _Incoming, raw: dict[str, Any]) -> _Event | None:
    """One of our events, or None (no event name, or not sent by Accord)."""
    if not fields.send_key or not fields.event:
        return None
    reason = fields.reason or fields.response or ""
    if fields.type == "blocked" and fields.event == "bounce":
        reason = f"blocked: {reason}"
    at = datetime.fromtimestamp(fields.timestamp, UTC) if fields.timestamp is not None else datetime.now(UTC)
    event_id = fields.sg_event_id
    if not event_id:
        # Older events may lack an id: the event's own content identifies it.
        event_id = "sha256:" + hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
    return _Event(event_id, fields.send_key, fields.workflow_id or "", fields.event, reason[:MAX_REASON_CHARS], at)


async def _notify(accord: Any, store: Storage, event: _Event) -> bool:
    """Signal the workflow; False if Temporal is unavailable (try again later)."""
    sent = await store.get_send(event.send_key)
    notice = EmailEvent(
        send_key=event.send_key, event=event.event, reason=event.reason,
        recipient=sent.recipient if sent else "",
    )
    try:
        await accord.report_email_event(event.workflow_id, notice)
    except RPCError as exc:
        if exc.status == RPCStatusCode.NOT_FOUND:
            # The partnership is gone (or was never ours): nothing to tell, nothing to retry.
            log.warning("bounce for %s: workflow %s not found", event.send_key, event.workflow_id)
        else:
            log.warning("could not report %s for %s: %s", event.event, event.send_key, exc.message)
            return False
    await store.mark_notified(event.event_id)
    log.info("reported %s of %s to %s", event.event, event.send_key, event.workflow_id)
    return True
