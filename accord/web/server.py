"""Run the web app with uvicorn inside an existing event loop (beside a worker, in tests).

    await serve(settings)                 # blocks until the server stops
    python -m accord.web                  # the same, from the command line
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn

from accord import signing_keys
from accord.client import Accord
from accord.config import Settings
from accord.storage import SharedStorage
from accord.web import redact
from accord.web.app import create_app, open_storage_at_start


def build_server(settings: Settings, accord: Accord | None = None, storage: SharedStorage | None = None,
                 **config: Any) -> uvicorn.Server:
    """A uvicorn server for the app; ``config`` overrides uvicorn.Config options."""
    options: dict[str, Any] = {
        "host": settings.web_host,
        "port": settings.web_port,
        "log_level": "info",
        "server_header": False,
        # Links are built from settings.web_base_url, so forwarded headers are never needed.
        "proxy_headers": False,
        **config,
    }
    server = uvicorn.Server(uvicorn.Config(create_app(settings, accord, storage), **options))
    # After uvicorn.Config: it (re)configures its loggers when constructed.
    redact.install()
    return server


async def serve(settings: Settings | None = None, accord: Accord | None = None, *,
                sockets: list[socket.socket] | None = None, **config: Any) -> None:
    """Raises ConfigError before serving anything if the signing keys are missing, short or
    published, or if the PostgreSQL schema is behind the code (SchemaNotCurrent)."""
    settings = settings or Settings()
    signing_keys.check_for_start(settings)
    # Opened here, not only in the app's lifespan: uvicorn would log a refusal there as a
    # traceback and carry on; here it reaches `accord web` as one line and exit 1.
    storage = SharedStorage(settings)
    await open_storage_at_start(storage, settings)
    server = build_server(settings, accord, storage, **config)
    running = asyncio.ensure_future(server.serve(sockets=sockets))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        # Cancelled by whoever shares the loop (e.g. `accord up` on Ctrl-C): shut down
        # properly, finishing in-flight requests and the lifespan, then stay cancelled.
        server.should_exit = True
        await running
        raise
