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
from accord.web import redact
from accord.web.app import create_app


def build_server(settings: Settings, accord: Accord | None = None, **config: Any) -> uvicorn.Server:
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
    server = uvicorn.Server(uvicorn.Config(create_app(settings, accord), **options))
    # After uvicorn.Config: it (re)configures its loggers when constructed.
    redact.install()
    return server


async def serve(settings: Settings | None = None, accord: Accord | None = None, *,
                sockets: list[socket.socket] | None = None, **config: Any) -> None:
    """Raises ConfigError before serving anything if the signing keys are missing, short or published."""
    settings = settings or Settings()
    signing_keys.check_for_start(settings)
    server = build_server(settings, accord, **config)
    running = asyncio.ensure_future(server.serve(sockets=sockets))
    try:
        await asyncio.shield(running)
    except asyncio.CancelledError:
        # Cancelled by whoever shares the loop (e.g. `accord up` on Ctrl-C): shut down
        # properly, finishing in-flight requests and the lifespan, then stay cancelled.
        server.should_exit = True
        await running
        raise
