"""Delivery through SendGrid's v3 Mail Send API, with the official ``sendgrid`` client.

One request per recipient (each email is personal: its own action link and send key).
The client is synchronous (urllib): every call runs in a thread, with a timeout, so a
stuck connection never blocks the worker's event loop or hangs an activity forever.

Errors, as SendGrid documents them:

- 202: queued. The ``X-Message-Id`` header is kept in the ledger.
- 400, 401, 403, 413: refused for good -> :class:`PermanentMailError` (the activity
  records it and the workflow reports the signatory as unreachable).
- 429: rate limited -> retryable, the next attempt waits until ``X-RateLimit-Reset``.
- 5xx, timeouts, connection errors: retryable. A timeout or a dropped connection leaves
  the outcome unknown (SendGrid may have queued the email), so the next attempt waits
  ``unknown_outcome_delay`` for the Email Activity feed to catch up before checking it.

SendGrid has no idempotency key. A retried send whose previous attempt has an unknown
outcome (worker killed after the request, timeout, 5xx) first asks the Email Activity
API whether a message with this send key was accepted (:meth:`already_accepted`).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import time
import urllib.error
from datetime import timedelta
from email.utils import parseaddr
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import (
    Attachment,
    Category,
    ClickTracking,
    CustomArg,
    Disposition,
    FileContent,
    FileName,
    FileType,
    From,
    HtmlContent,
    Mail,
    PlainTextContent,
    Subject,
    To,
    TrackingSettings,
)
from sendgrid.helpers.mail.exceptions import SendGridException

from accord.mail.message import RATE_LIMITED, Message, PermanentMailError, unavailable

log = logging.getLogger("accord.mail.sendgrid")
# python_http_client logs every request's headers (the API key) and body (action links with
# their tokens) at DEBUG: keep those out of the logs even when everything else is verbose.
logging.getLogger("python_http_client").setLevel(logging.INFO)

PERMANENT_STATUSES = frozenset({400, 401, 403, 413})
# The Email Activity API is a paid add-on; without it (or without the key's
# "Email Activity" scope) it answers 401/403/404, and the check is skipped from then on.
# A 400 (the API no longer takes our query) is treated the same way: an email sent twice
# is better than one stuck in retries forever.
FEED_UNAVAILABLE_STATUSES = frozenset({400, 401, 403, 404})
SEND_KEY_ARG = "send_key"
CATEGORY = "accord"
# Never wait longer than this for a rate limit, whatever the header says.
MAX_RATE_LIMIT_WAIT = timedelta(hours=1)


class SendGridMailer:
    def __init__(
        self,
        api_key: str,
        host: str = "https://api.sendgrid.com",
        timeout: float = 10,
        *,
        unknown_outcome_delay: float = 120,
    ):
        if not api_key:
            raise ValueError("SendGrid needs an API key")
        self.host = host.rstrip("/")
        self.timeout = timeout
        self.unknown_outcome_delay = timedelta(seconds=unknown_outcome_delay)
        self._sg = SendGridAPIClient(api_key, host=self.host)
        # The client's default is no timeout at all: a call could hang forever.
        self._sg.client.timeout = timeout
        self._feed_available = True

    # ------------------------------------------------------------------ payload

    def payload(self, message: Message) -> dict[str, Any]:
        """The v3 mail/send body, built with SendGrid's helper classes."""
        sender_name, sender_email = parseaddr(message.sender)
        try:
            mail = Mail(
                from_email=From(sender_email or message.sender, sender_name or None),
                to_emails=To(message.to_email, message.to_name or None),
                subject=Subject(message.subject),
                plain_text_content=PlainTextContent(message.text),
                html_content=HtmlContent(message.html),
            )
            # Opaque ids only: SendGrid stores these as non-personal data and echoes them in events.
            mail.custom_arg = [CustomArg(key, value) for key, value in sorted(message.tags.items())]
            mail.category = [Category(CATEGORY)]
            for attachment in message.attachments:
                # The type as given, parameters included: "text/calendar; method=REQUEST" is
                # what makes clients show an invitation rather than a file.
                mail.add_attachment(Attachment(
                    FileContent(attachment.content), FileName(attachment.filename),
                    FileType(attachment.content_type), Disposition("attachment"),
                ))
            if message.is_action:
                # Click tracking would rewrite the single-purpose link through a redirect.
                mail.tracking_settings = TrackingSettings(click_tracking=ClickTracking(enable=False, enable_text=False))
            return mail.get()
        except SendGridException as exc:  # e.g. ApiKeyIncludedException: the body looks like it holds an API key
            raise PermanentMailError(f"SendGrid helper refused the email: {type(exc).__name__}") from None

    # ------------------------------------------------------------------ sending

    async def send(self, message: Message) -> str:
        payload = self.payload(message)
        try:
            response = await asyncio.to_thread(self._sg.send, payload)
        except HTTPError as exc:
            raise self._http_error(exc, "mail/send") from None
        except TimeoutError:
            raise unavailable(
                f"SendGrid did not answer within {self.timeout:g}s; outcome unknown",
                retry_after=self.unknown_outcome_delay,
            ) from None
        except (ConnectionResetError, http.client.HTTPException) as exc:
            raise unavailable(
                f"SendGrid connection dropped ({type(exc).__name__}); outcome unknown",
                retry_after=self.unknown_outcome_delay,
            ) from None
        except urllib.error.URLError as exc:
            # Raised before the request was sent (DNS, refused connection, TLS handshake).
            raise unavailable(f"SendGrid unreachable: {exc.reason}") from None
        message_id = _header(response.headers, "X-Message-Id")
        if response.status_code != 202:
            log.warning("SendGrid answered %s to mail/send for %s", response.status_code, message.send_key)
        return message_id or ""

    async def already_accepted(self, send_key: str) -> str | None:
        """The message id SendGrid gave an earlier request with this send key, if it took one.

        Asks the Email Activity API: ``GET /v3/messages?query=(unique_args['send_key']="...")``.
        None if no such message is known, or if the account has no Email Activity access
        (then the email is sent again: at least once, and said so in the log).
        """
        if not self._feed_available:
            return None
        escaped = send_key.replace("\\", "\\\\").replace('"', '\\"')
        query = {"query": f"(unique_args['{SEND_KEY_ARG}']=\"{escaped}\")", "limit": 1}
        try:
            response = await asyncio.to_thread(self._sg.client.messages.get, query_params=query)
        except HTTPError as exc:
            if exc.status_code in FEED_UNAVAILABLE_STATUSES:
                self._feed_available = False
                log.warning(
                    "SendGrid Email Activity API answered %s (%s): cannot check whether an interrupted "
                    "send was accepted; such emails are sent again (at least once)",
                    exc.status_code, _error_text(exc.body),
                )
                return None
            raise self._http_error(exc, "messages", permanent=False) from None
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            # Do not resend while the answer is unknown: try the whole activity again later.
            raise unavailable(f"SendGrid Email Activity API unreachable: {type(exc).__name__}") from None
        data = json.loads(response.body or b"{}")
        for found in data.get("messages") or []:
            msg_id = str(found.get("msg_id") or "")
            # msg_id is "<X-Message-Id>.filter...": keep the part mail/send returned.
            return msg_id.split(".", 1)[0] or msg_id
        return None

    # ------------------------------------------------------------------ errors

    def _http_error(self, exc: HTTPError, endpoint: str, *, permanent: bool = True) -> Exception:
        status = int(exc.status_code)
        text = f"SendGrid {endpoint} answered {status}: {_error_text(exc.body)}"
        if permanent and status in PERMANENT_STATUSES:
            return PermanentMailError(text)
        if status == 429:
            return unavailable(text, retry_after=_rate_limit_wait(exc.headers), kind=RATE_LIMITED)
        # 5xx, and statuses SendGrid does not document for this call (a wrong host, say):
        # retry, so a configuration fix delivers the email instead of dropping it.
        return unavailable(text)


def _header(headers: Any, name: str) -> str | None:
    if headers is None:
        return None
    value = headers.get(name)
    if value is None and isinstance(headers, dict):  # plain dicts are case-sensitive
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def _rate_limit_wait(headers: Any) -> timedelta | None:
    """Until ``X-RateLimit-Reset`` (Unix seconds); None (the retry policy decides) if absent."""
    raw = _header(headers, "X-RateLimit-Reset")
    try:
        reset = float(raw) if raw is not None else None
    except ValueError:
        reset = None
    if reset is None:
        return None
    wait = timedelta(seconds=max(1.0, reset - time.time()))
    return min(wait, MAX_RATE_LIMIT_WAIT)


def _error_text(body: bytes | str | None) -> str:
    """SendGrid's ``{"errors": [{"message", "field"}]}`` as one line (or the raw body, shortened)."""
    if not body:
        return "(no body)"
    raw = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    try:
        errors = json.loads(raw).get("errors") or []
        parts = [
            f"{e.get('message', '')}" + (f" ({e['field']})" if e.get("field") else "")
            for e in errors if isinstance(e, dict)
        ]
        if parts:
            return "; ".join(parts)[:500]
    except (ValueError, AttributeError):
        pass
    return raw[:500]
