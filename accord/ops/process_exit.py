"""How Accord's long-running processes (worker, web app, ``accord up``) leave.

They end with :func:`exit_process` instead of returning to the interpreter. By then the
worker has shut down and every connection is closed, but the Temporal SDK's Rust threads
can still take and release the GIL while CPython finalizes; on CPython 3.11 that aborts
the process ("Fatal Python error: PyGILState_Release ... finalizing", SIGABRT) about once
in thirty exits. A supervisor would report a clean SIGTERM shutdown as a crash and keep a
core dump. So we flush what the process holds, then skip finalization.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def exit_process(code: int = 0) -> NoReturn:
    """Flush traces, logs and standard streams, then end the process with ``code``."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is not None:  # tracing was configured: export the spans still batched
        shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
        if shutdown is not None:
            shutdown()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or a broken pipe: nothing more to save
            pass
    os._exit(code)
