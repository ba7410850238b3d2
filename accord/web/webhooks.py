"""Provider webhooks: SendGrid's signed Event Webhook.

    POST /webhooks/sendgrid

SendGrid posts a JSON array of events (processed, delivered, deferred, bounce, dropped,
open, click...). Each event carries the email's custom_args as top-level fields, so ours
have ``send_key`` and ``workflow_id``. The request is verified first, over the raw body,
with the ``X-Twilio-Email-Event-Webhook-Signature`` and ``-Timestamp`` headers and the
account's verification key (ACCORD_SENDGRID_WEBHOOK_PUBLIC_KEY); anything unsigned or
tampered with gets 403 and changes nothing.

Every event about one of our emails is kept in the send ledger, once per ``sg_event_id``
(SendGrid delivers at least once). A ``bounce`` or ``dropped`` also goes to the
partnership workflow as an ``email_event`` signal: the recipient did not get the email.
If Temporal cannot be reached the answer is 503 and SendGrid retries; events already
recorded are not recorded twice and the workflow is told only once.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from temporalio.service import RPCError, RPCStatusCode

from accord.config import Settings
from accord.mail.ledger import Ledger
from accord.models import EmailEvent

log = logging.getLogger("accord.web.webhooks")

# The recipient never got the email: the workflow must know (the signatory is unreachable).
NOTIFY_EVENTS = frozenset({"bounce", "dropped"})
MAX_BODY_BYTES = 5 * 1024 * 1024


def router(settings: Settings) -> APIRouter:
    routes = APIRouter()
    verifier = _verifier(settings.sendgrid_webhook_public_key)
    ledger: Ledger | None = None

    def the_ledger() -> Ledger:
        nonlocal ledger
        if ledger is None:
            ledger = Ledger(settings.ledger_path)
        return ledger

    @routes.post("/webhooks/sendgrid")
    async def sendgrid_events(request: Request) -> JSONResponse:
        body = await request.body()
        if not _verified(verifier, body, request.headers):
            return JSONResponse({"error": "signature not verified"}, status_code=403)
        try:
            events = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(events, list):
            return JSONResponse({"error": "expected a JSON array of events"}, status_code=400)

        accord = request.app.state.accord
        recorded = duplicates = ignored = 0
        for raw in events:
            event = _parse(raw)
            if event is None:
                ignored += 1
                continue
            store = the_ledger()
            if store.record_event(event.event_id, event.send_key, event.event, event.reason, event.at):
                recorded += 1
            else:
                duplicates += 1
            if event.event in NOTIFY_EVENTS and event.workflow_id:
                stored = store.event(event.event_id)
                if stored is not None and stored.notified_at is None:
                    if not await _notify(accord, store, event):
                        # Temporal is unavailable: SendGrid retries the whole batch later;
                        # what is recorded stays recorded, and is not recorded twice.
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


def _verified(verifier: tuple[EventWebhook, Any] | None, body: bytes, headers: Any) -> bool:
    if verifier is None:
        log.error("SendGrid webhook refused: ACCORD_SENDGRID_WEBHOOK_PUBLIC_KEY is not set")
        return False
    signature = headers.get(EventWebhookHeader.SIGNATURE)
    timestamp = headers.get(EventWebhookHeader.TIMESTAMP)
    if not signature or not timestamp or len(body) > MAX_BODY_BYTES:
        return False
    helper, key = verifier
    try:
        # The helper signs text: the raw body must be UTF-8 (JSON always is).
        return helper.verify_signature(body.decode("utf-8"), signature, timestamp, key)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        return False


# ---------------------------------------------------------------------- events


@dataclass(frozen=True)
class _Event:
    event_id: str
    send_key: str
    workflow_id: str
    event: str
    reason: str
    at: datetime


def _parse(raw: Any) -> _Event | None:
    """One of our events, or None (not a dict, no event name, or not sent by Accord)."""
    if not isinstance(raw, dict):
        return None
    send_key, name = raw.get("send_key"), raw.get("event")
    if not isinstance(send_key, str) or not send_key or not isinstance(name, str) or not name:
        return None
    workflow_id = raw.get("workflow_id") if isinstance(raw.get("workflow_id"), str) else ""
    # bounce/dropped: "reason"; deferred/delivered: the receiving server's "response".
    reason = raw.get("reason") or raw.get("response") or ""
    if raw.get("type") == "blocked" and name == "bounce":
        reason = f"blocked: {reason}"
    try:
        at = datetime.fromtimestamp(float(raw.get("timestamp")), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        at = datetime.now(UTC)
    event_id = raw.get("sg_event_id")
    if not isinstance(event_id, str) or not event_id:
        # Older events may lack an id: the event's own content identifies it.
        event_id = "sha256:" + hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
    return _Event(event_id, send_key, workflow_id, name, str(reason)[:1000], at)


async def _notify(accord: Any, ledger: Ledger, event: _Event) -> bool:
    """Signal the workflow; False if Temporal is unavailable (try again later)."""
    sent = ledger.get(event.send_key)
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
    ledger.mark_notified(event.event_id)
    log.info("reported %s of %s to %s", event.event, event.send_key, event.workflow_id)
    return True
