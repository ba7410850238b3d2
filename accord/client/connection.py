"""Connecting to Temporal as configured: address, namespace, TLS/mTLS or API key, and the
data converter (the encrypting codec when codec keys are set)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from accord.codec import data_converter
from accord.config import ConfigError, Settings


def _pem(path: Path | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        data = Path(path).expanduser().read_bytes()
    except OSError as exc:
        raise ConfigError(f"{what} {path}: {exc.strerror or exc}") from None
    if b"-----BEGIN" not in data:
        raise ConfigError(f"{what} {path}: not a PEM file (no -----BEGIN line)")
    return data


def tls_config(settings: Settings) -> TLSConfig | bool:
    """What ``Client.connect(tls=...)`` gets: a TLSConfig built from the configured files,
    True for TLS with the system's roots (``temporal_tls``, or an API key), else False."""
    if bool(settings.temporal_tls_cert) != bool(settings.temporal_tls_key):
        have, need = ("temporal_tls_cert", "temporal_tls_key") if settings.temporal_tls_cert else (
            "temporal_tls_key", "temporal_tls_cert")
        raise ConfigError(f"{have} is set but {need} is not: mTLS needs both the client certificate and its key")
    if settings.temporal_tls_cert or settings.temporal_tls_ca or settings.temporal_tls_server_name:
        return TLSConfig(
            server_root_ca_cert=_pem(settings.temporal_tls_ca, "temporal_tls_ca"),
            domain=settings.temporal_tls_server_name or None,
            client_cert=_pem(settings.temporal_tls_cert, "temporal_tls_cert"),
            client_private_key=_pem(settings.temporal_tls_key, "temporal_tls_key"),
        )
    return settings.temporal_tls_enabled


def connect_options(settings: Settings) -> dict:
    """Client.connect's keyword arguments for these settings (tested without a server)."""
    api_key = settings.temporal_api_key.get_secret_value().strip() if settings.temporal_api_key else ""
    options: dict = {
        "namespace": settings.temporal_namespace,
        # pydantic, plus the encrypting codec when codec_keys are set (accord/codec.py).
        "data_converter": data_converter(settings),
        "tls": tls_config(settings),
        "api_key": api_key or None,
    }
    if settings.worker_identity:
        options["identity"] = settings.worker_identity
    return options


async def connect(settings: Settings, *, runtime: Runtime | None = None, interceptors: Sequence = (),
                  lazy: bool = False) -> Client:
    """Connect to Temporal as configured: address, namespace, TLS/mTLS or API key.

    ``runtime`` carries the telemetry (Prometheus) for a worker; ``interceptors`` that are
    also worker interceptors (tracing) apply to workers built on this client too. ``lazy``
    connects on the first call instead (a web app that starts before the server).
    """
    return await Client.connect(
        settings.temporal_address,
        **connect_options(settings),
        runtime=runtime,
        interceptors=list(interceptors),
        lazy=lazy,
    )
