"""Logs, metrics and traces for Accord's processes.

- **Logs**: text for people, or JSON (``log_format = "json"``): one object a line with
  ``workflow_id`` (and run id, workflow type, activity) lifted from the context the
  Temporal SDK attaches to ``workflow.logger`` and ``activity.logger`` records.
- **Metrics**: the Temporal SDK's Runtime serves Prometheus; Accord's own metrics are
  recorded through the same meter (``activity.metric_meter()``,
  ``workflow.metric_meter()``, the runtime's meter), so one scrape has both.
- **Traces**: ``temporalio.contrib.opentelemetry.TracingInterceptor`` on the client (and
  so on the workers built from it), exporting to the console or OTLP/HTTP (the standard
  ``OTEL_EXPORTER_OTLP_*`` variables). Needs the ``tracing`` extra.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
from datetime import UTC, datetime
from typing import Any

from temporalio import activity, workflow
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from accord.config import ConfigError, Settings

# Context the SDK puts on log records (workflow.logger / activity.logger), lifted to the top level.
_CONTEXT_KEYS = ("workflow_id", "run_id", "workflow_run_id", "workflow_type", "activity_type", "activity_id",
                 "attempt", "task_queue", "namespace", "update_id", "update_name")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, then the Temporal context
    (``workflow_id`` first) and any other ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        context: dict[str, Any] = {}
        for key in ("temporal_workflow", "temporal_activity"):
            value = getattr(record, key, None)
            if isinstance(value, dict):
                context.update(value)
        if "workflow_run_id" in context and "run_id" not in context:
            context["run_id"] = context.pop("workflow_run_id")
        for key in _CONTEXT_KEYS:
            if context.get(key) is not None:
                out[key] = context[key]
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in ("temporal_workflow", "temporal_activity") and key not in out:
                out[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure_logging(settings: Settings | None = None) -> None:
    """Root logging for a process, as configured (``log_format``, ``log_level``)."""
    settings = settings or Settings()
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter())
        # The context is in its own fields: do not repeat it at the end of every message.
        workflow.logger.workflow_info_on_message = False
        activity.logger.activity_info_on_message = False
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per /metrics scrape otherwise
    # Servers' access logs go through the same handler (uvicorn keeps its own otherwise).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


def free_loopback_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_runtime(settings: Settings) -> tuple[Runtime | None, str | None]:
    """A Runtime whose Prometheus exporter listens on a loopback port, and that address.

    The worker's metrics server (accord.ops.monitor) serves it at /metrics beside
    /healthz and /readyz on ``metrics_port``. None when metrics are off.
    """
    if settings.metrics_port is None:
        return None, None
    address = f"127.0.0.1:{free_loopback_port()}"
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=address, counters_total_suffix=True),
            global_tags={"service": "accord-worker"},
        )
    )
    return runtime, address


def tracing_interceptors(settings: Settings, *, span_exporter: Any = None) -> list:
    """TracingInterceptor with a tracer provider exporting as configured; [] when off.
    ``span_exporter`` replaces the configured exporter (tests)."""
    if settings.tracing == "off":
        return []
    try:
        from opentelemetry import trace
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
        )
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError as exc:
        raise ConfigError(f"tracing={settings.tracing} needs the tracing extra (pip install 'accord[tracing]'): {exc}") from None
    if span_exporter is not None:
        exporter = span_exporter
    elif settings.tracing == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )
        except ImportError as exc:
            raise ConfigError(f"tracing=otlp needs opentelemetry-exporter-otlp-proto-http: {exc}") from None
        exporter = OTLPSpanExporter()  # OTEL_EXPORTER_OTLP_ENDPOINT / _HEADERS, default http://localhost:4318
    else:
        exporter = ConsoleSpanExporter()
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):  # keep one a test or an embedding program installed
        current = TracerProvider(resource=Resource.create({"service.name": "accord"}))
        trace.set_tracer_provider(current)
    current.add_span_processor(BatchSpanProcessor(exporter))
    return [TracingInterceptor()]
