"""The worker's HTTP endpoint, and the gauges it computes from Temporal's visibility store.

    GET /metrics   Prometheus: the Temporal SDK's metrics and Accord's (accord/ops/metrics.py)
    GET /healthz   200 while the process runs its worker (liveness)
    GET /readyz    200 while the worker polls and the Temporal frontend answers; 503 otherwise
                   (during a graceful shutdown too, so no new traffic is sent its way)

The SDK's Prometheus exporter listens on a loopback port of its own; /metrics passes its
answer on, so one port serves metrics and health (what a Kubernetes pod or a compose
healthcheck wants).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from datetime import timedelta
from typing import Self

import httpx
from temporalio.client import Client
from temporalio.runtime import Runtime

from accord import search_attributes as sa
from accord.ops import metrics, stuck

log = logging.getLogger("accord.monitor")


class MetricsServer:
    def __init__(self, host: str, port: int, *, prometheus_address: str | None, client: Client | None = None) -> None:
        self.host = host
        self.port = port
        self.prometheus_address = prometheus_address
        self.client = client
        self.alive = True
        self.polling = False
        self._server: asyncio.base_events.Server | None = None
        self._http = httpx.AsyncClient(timeout=5)

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics and health on http://%s:%s (/metrics, /healthz, /readyz)", self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        await self._http.aclose()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass  # headers: not needed
            parts = request_line.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?")[0]) if len(parts) >= 2 else ("", "")
            if method not in ("GET", "HEAD"):
                status, ctype, body = 405, "text/plain", b"method not allowed\n"
            else:
                status, ctype, body = await self._route(path)
            head = (f"HTTP/1.1 {status} {_REASONS.get(status, '')}\r\nContent-Type: {ctype}\r\n"
                    f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")
            writer.write(head.encode() + (b"" if method == "HEAD" else body))
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _route(self, path: str) -> tuple[int, str, bytes]:
        if path == "/metrics":
            if self.prometheus_address is None:
                return 404, "text/plain", b"metrics are off\n"
            try:
                answer = await self._http.get(f"http://{self.prometheus_address}/metrics")
            except httpx.HTTPError as exc:
                return 502, "text/plain", f"the SDK's exporter did not answer: {exc}\n".encode()
            return answer.status_code, answer.headers.get("content-type", "text/plain; version=0.0.4"), answer.content
        if path == "/healthz":
            return _json(200 if self.alive else 503, {"status": "ok" if self.alive else "stopped"})
        if path == "/readyz":
            checks = {"worker": "polling" if self.polling else "not polling"}
            ok = self.polling
            if self.client is not None:
                checks["temporal"] = await temporal_health(self.client)
                ok = ok and checks["temporal"] == "ok"
            return _json(200 if ok else 503, {"status": "ready" if ok else "not ready", **checks})
        return 404, "text/plain", b"not found: /metrics, /healthz, /readyz\n"


async def temporal_health(client: Client | None, timeout: float = 2) -> str:
    """"ok" when the Temporal frontend answers its gRPC health check in time."""
    if client is None:
        return "not connected"
    try:
        up = await client.service_client.check_health(timeout=timedelta(seconds=timeout))
    except Exception as exc:  # noqa: BLE001 - RPCError, timeouts, a lazy client's failed connect: "not ready", never a 500
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        return f"unreachable: {reason}"
    return "ok" if up else "not serving"


def _json(status: int, payload: dict) -> tuple[int, str, bytes]:
    return status, "application/json", (json.dumps(payload) + "\n").encode()


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 502: "Bad Gateway", 503: "Service Unavailable"}


class VisibilityGauges:
    """Every ``interval`` seconds: running escalations by level, running partnerships by
    stage and status, from the search attributes the workflows keep (one List call each;
    a stopped series is set to 0 rather than left at its last value)."""

    def __init__(self, client: Client, runtime: Runtime, interval: float, limit: int = 10_000, *,
                 stuck_activity_after: float = 3600, stuck_task_attempts: int = 3) -> None:
        meter = runtime.metric_meter
        self.client = client
        self.interval = interval
        self.limit = limit
        self.stuck_activity_after = timedelta(seconds=stuck_activity_after)
        self.stuck_task_attempts = stuck_task_attempts
        # Every kind is always reported (0 when none): an alert on > 0 needs no absent-series rule.
        self.stuck = meter.create_gauge(metrics.PARTNERSHIPS_STUCK, "Running partnerships that are stuck, by kind")
        self.escalations = meter.create_gauge(metrics.ESCALATIONS_OPEN, "Running escalation workflows by ladder level")
        self.partnerships = meter.create_gauge(metrics.PARTNERSHIPS, "Running partnership workflows by stage and status")
        self._seen_levels: set[str] = set()
        self._seen_stages: set[tuple[str, str]] = set()

    async def collect_once(self) -> None:
        levels: Counter[str] = Counter()
        async for wf in self.client.list_workflows(
                "WorkflowType = 'EscalationWorkflow' AND ExecutionStatus = 'Running'", limit=self.limit):
            level = wf.typed_search_attributes.get(sa.ESCALATION_LEVEL)
            levels[str(level if level is not None else 0)] += 1
        stages: Counter[tuple[str, str]] = Counter()
        async for wf in self.client.list_workflows(
                "WorkflowType = 'PartnershipWorkflow' AND ExecutionStatus = 'Running'", limit=self.limit):
            attrs = wf.typed_search_attributes
            stages[(attrs.get(sa.STAGE) or "unknown", attrs.get(sa.STATUS) or "unknown")] += 1
        for seen in self._seen_levels | set(levels):
            self.escalations.set(levels.get(seen, 0), {"level": seen})
        for stage, status in self._seen_stages | set(stages):
            self.partnerships.set(stages.get((stage, status), 0), {"stage": stage, "status": status})
        self._seen_levels |= set(levels)
        self._seen_stages |= set(stages)
        found = await stuck.find(self.client, stuck_activity_after=self.stuck_activity_after,
                                 task_attempts=self.stuck_task_attempts, limit=self.limit)
        kinds = Counter(p.kind for p in {p.workflow_id: p for p in found}.values())
        for kind in stuck.Kind:
            self.stuck.set(kinds.get(kind, 0), {"kind": kind.value})

    async def run(self, stop: asyncio.Event) -> None:
        """Until ``stop`` is set. Never cancelled mid-call: an RPC the SDK's core still runs
        when the interpreter exits would call back into a finalizing Python."""
        while not stop.is_set():
            try:
                await self.collect_once()
            except Exception as exc:  # noqa: BLE001 - visibility down for a moment: keep the last values, try again
                log.warning("visibility gauges not updated: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)
