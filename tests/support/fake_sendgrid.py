"""A local stand-in for SendGrid's v3 API, for the real ``sendgrid`` client to talk to.

    with FakeSendGrid() as sg:
        sg.script(reply(500), reply(500))      # then 202 (the default)
        mailer = SendGridMailer("SG.test", host=sg.url, timeout=1)

It records every request (method, path, query, headers, JSON body), answers
``POST /v3/mail/send`` from a script (202 with X-Message-Id, SendGrid's error bodies for
400/401/403/413/429/500, a hang longer than the client's timeout, or a dropped
connection, before or after accepting the email), and answers
``GET /v3/messages?query=(unique_args['send_key']="...")`` from the messages it has
accepted, as the Email Activity API would.

Beyond the script, for the fault tests:

    sg.refuse("bo@beta.example", 400)           # this address is refused for good
    sg.chaos = Chaos(seed, {"500": 0.1, "drop": 0.05, ...}, applies=lambda r: ...)
    sg.latency = 0.05                           # answer every accepted send this much later
    sg.on_accept = lambda request: ...          # told of each accepted send, before it is answered

``Chaos`` draws a fault for each request it applies to (seeded, so a failure can be
replayed) and counts what it injected in ``faults``.
"""

from __future__ import annotations

import json
import random
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

# Error bodies in the shape SendGrid documents for mail/send.
ERRORS = {
    400: {"errors": [{"message": "The from address does not match a verified Sender Identity.", "field": "from",
                      "help": "http://sendgrid.com/docs/for-developers/sending-email/sender-identity/"}]},
    401: {"errors": [{"field": None, "message": "The provided authorization grant is invalid, expired, or revoked"}]},
    403: {"errors": [{"field": None, "message": "access forbidden"}]},
    404: {"errors": [{"field": None, "message": "resource not found"}]},
    413: {"errors": [{"field": None, "message": "Payload Too Large"}]},
    429: {"errors": [{"field": None, "message": "too many requests"}]},
    500: {"errors": [{"field": None, "message": "An internal server error occurred"}]},
    503: {"errors": [{"field": None, "message": "Service Unavailable"}]},
}
_UNIQUE_ARG = re.compile(r"""\(unique_args\['([^']+)'\]="((?:[^"\\]|\\.)*)"\)""")


@dataclass(frozen=True)
class Reply:
    status: int = 202
    # Hang: hold the request this long (or until the server stops) without answering.
    hang: float | None = None
    # Accept the email before hanging: SendGrid queued it, but the answer never arrives.
    accept_then_hang: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    # Drop: close the connection without an answer (a reset), before or after accepting.
    drop: bool = False
    accept_then_drop: bool = False
    # Slow: answer normally, but only after this many seconds (a send in flight at shutdown).
    delay: float = 0


def reply(status: int = 202, **headers: str) -> Reply:
    return Reply(status, headers=headers)


def rate_limited(reset_in: float) -> Reply:
    return Reply(429, headers={"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "0",
                               "X-RateLimit-Reset": str(int(time.time() + reset_in))})


def hang(seconds: float = 10) -> Reply:
    return Reply(hang=seconds)


def accept_then_hang(seconds: float = 60) -> Reply:
    return Reply(hang=seconds, accept_then_hang=True)


def drop() -> Reply:
    return Reply(drop=True)


def accept_then_drop() -> Reply:
    return Reply(drop=True, accept_then_drop=True)


# The retryable faults Chaos knows, by name: what SendGrid or the network may do to a send.
FAULTS: dict[str, Callable[[], Reply]] = {
    "429": lambda: rate_limited(reset_in=1),
    "500": lambda: reply(500),
    "503": lambda: reply(503),
    "timeout": lambda: hang(2),  # longer than the test clients' timeout: never accepted
    "accept_then_timeout": lambda: accept_then_hang(2),  # accepted, but the answer never comes
    "drop": drop,  # connection reset before SendGrid took the email
    "accept_then_drop": accept_then_drop,  # reset after it took it
}


class Chaos:
    """Random retryable faults on mail/send (and 500s on the Email Activity API), seeded.

    ``rates``: fault name (see FAULTS, plus "feed_500" for GET /v3/messages) -> probability
    per request. ``first``: faults injected first, in order, whatever the draw (so every kind
    happens at least once). ``applies``: which mail/send requests it touches (default all).
    """

    def __init__(self, seed: int, rates: dict[str, float], *, first: list[str] | None = None,
                 applies: Callable[[Request], bool] | None = None):
        unknown = set(rates) - set(FAULTS) - {"feed_500"}
        assert not unknown, f"unknown faults: {unknown}"
        self.rng = random.Random(seed)
        self.rates = rates
        self.first = deque(first or [])
        self.applies = applies or (lambda request: True)
        self.faults: Counter[str] = Counter()

    def _draw(self, names: list[str]) -> str | None:
        roll = self.rng.random()
        for name in names:
            roll -= self.rates.get(name, 0.0)
            if roll < 0:
                return name
        return None

    def for_send(self, request: Request) -> Reply | None:
        if not self.applies(request):
            return None
        name = self.first.popleft() if self.first else self._draw(list(FAULTS))
        if name is None:
            return None
        self.faults[name] += 1
        return FAULTS[name]()

    def for_feed(self) -> int | None:
        if self._draw(["feed_500"]):
            self.faults["feed_500"] += 1
            return 500
        return None


def slow(seconds: float, status: int = 202) -> Reply:
    return Reply(status, delay=seconds)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any

    @property
    def send_key(self) -> str | None:
        return ((self.body or {}).get("custom_args") or {}).get("send_key") if isinstance(self.body, dict) else None


@dataclass
class Accepted:
    message_id: str
    send_key: str | None
    body: dict


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            return  # the sender died waiting for the answer (a test killed it): nothing to report
        super().handle_error(request, client_address)


class FakeSendGrid:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.requests: list[Request] = []
        self.accepted: list[Accepted] = []
        self.feed_status = 200  # the Email Activity API: 200, or 403/404 without the add-on
        self.chaos: Chaos | None = None
        self.latency = 0.0  # seconds before answering an accepted send
        self.refused: dict[str, int] = {}  # recipient address -> permanent error status
        # Called (on the server's thread) with each send it accepted, before answering: the
        # moment a sender killed now never hears that SendGrid has the email.
        self.on_accept: Callable[[Request], None] | None = None
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.request_arrived = threading.Condition(self._lock)
        self._server = _Server((host, 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-sendgrid", daemon=True)

    # ------------------------------------------------------------------ control

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeSendGrid:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # release hanging requests
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, *replies: Reply) -> None:
        """Answers for the next mail/send requests, in order; afterwards 202."""
        with self._lock:
            self._script.extend(replies)

    def refuse(self, email: str, status: int = 400) -> None:
        """Refuse every email to this address for good (400/401/403/413), as SendGrid would."""
        with self._lock:
            self.refused[email.lower()] = status

    # ------------------------------------------------------------------ inspection

    def accepted_keys(self) -> Counter[str]:
        """How many times each send key was accepted (delivered)."""
        with self._lock:
            return Counter(a.send_key for a in self.accepted)

    def sends(self, send_key: str | None = None) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == "/v3/mail/send"
                    and (send_key is None or r.send_key == send_key)]

    def mentioning(self, text: str, key_part: str = "") -> list[str]:
        """Send keys (containing ``key_part``) of accepted emails whose plain text mentions ``text``."""
        with self._lock:
            accepted = {a.send_key for a in self.accepted}
            return sorted({r.send_key for r in self.requests if r.path == "/v3/mail/send" and r.send_key in accepted
                           and key_part in r.send_key and any(text in (c.get("value") or "")
                                                               for c in (r.body.get("content") or []))})

    def deliveries(self, send_key: str) -> int:
        """How many times SendGrid would have delivered this send key."""
        with self._lock:
            return sum(1 for a in self.accepted if a.send_key == send_key)

    def wait_for_send(self, count: int = 1, timeout: float = 10) -> None:
        with self.request_arrived:
            if not self.request_arrived.wait_for(
                lambda: sum(r.path == "/v3/mail/send" for r in self.requests) >= count, timeout
            ):
                raise TimeoutError(f"fewer than {count} mail/send requests arrived")

    # ------------------------------------------------------------------ the server

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _record(self) -> Request:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parse_qs(parts.query), dict(self.headers.items()), body)
                with fake.request_arrived:
                    fake.requests.append(request)
                    fake.request_arrived.notify_all()
                return request

            def _reset(self) -> None:
                """Close the connection with a TCP reset and no answer (SO_LINGER 0)."""
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True

            def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode() if payload is not None else b""
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:
                request = self._record()
                if request.path != "/v3/mail/send":
                    self._json(404, ERRORS[404])
                    return
                if not isinstance(request.body, dict):
                    # Cut off mid-body (the sender was killed) or not JSON: SendGrid takes nothing.
                    self._json(400, {"errors": [{"field": None, "message": "Invalid JSON"}]})
                    return
                with fake._lock:
                    answer = fake._script.popleft() if fake._script else None
                    recipient = _recipient(request.body)
                    if answer is None and recipient in fake.refused:
                        answer = Reply(fake.refused[recipient])
                    if answer is None and fake.chaos is not None:
                        answer = fake.chaos.for_send(request)
                answer = answer or Reply()
                if answer.drop and not answer.accept_then_drop:
                    self._reset()
                    return
                if answer.status == 202 or answer.accept_then_hang or answer.accept_then_drop:
                    message_id = uuid.uuid4().hex[:22]
                    with fake._lock:
                        fake.accepted.append(Accepted(message_id, request.send_key, request.body))
                    if fake.on_accept is not None:
                        fake.on_accept(request)
                if answer.accept_then_drop:
                    self._reset()
                    return
                if answer.delay:
                    fake._stopping.wait(answer.delay)
                if answer.hang is not None:
                    fake._stopping.wait(answer.hang)
                    self.close_connection = True
                    return
                if fake.latency and answer.status == 202:
                    fake._stopping.wait(fake.latency)
                if answer.status == 202:
                    self._json(202, None, {"X-Message-Id": message_id, **answer.headers})
                else:
                    self._json(answer.status, ERRORS.get(answer.status, {"errors": []}), answer.headers)

            def do_GET(self) -> None:
                request = self._record()
                if request.path != "/v3/messages":
                    self._json(404, ERRORS[404])
                    return
                status = fake.feed_status
                if status == 200 and fake.chaos is not None:
                    with fake._lock:
                        status = fake.chaos.for_feed() or 200
                if status != 200:
                    self._json(status, ERRORS.get(status, {"errors": []}))
                    return
                query = (request.query.get("query") or [""])[0]
                limit = int((request.query.get("limit") or ["10"])[0])
                match = _UNIQUE_ARG.fullmatch(query.strip())
                if not match:
                    self._json(400, {"errors": [{"field": "query", "message": "invalid query"}]})
                    return
                name, value = match.group(1), re.sub(r"\\(.)", r"\1", match.group(2))
                with fake._lock:
                    found = [a for a in fake.accepted if (a.body.get("custom_args") or {}).get(name) == value]
                messages = [{
                    "from_email": a.body["from"]["email"],
                    "msg_id": f"{a.message_id}.filterdrecv-5645d9c87f-78xgx-1-5F3D9A3B-1.0",
                    "subject": a.body.get("subject", ""),
                    "to_email": a.body["personalizations"][0]["to"][0]["email"],
                    "status": "delivered",
                    "opens_count": 0,
                    "clicks_count": 0,
                    "last_event_time": "2026-01-01T00:00:00Z",
                } for a in found[:limit]]
                self._json(200, {"messages": messages})

        return Handler


def _recipient(body: Any) -> str | None:
    try:
        return body["personalizations"][0]["to"][0]["email"].lower()
    except (KeyError, IndexError, TypeError):
        return None
