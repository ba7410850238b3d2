"""Keep action tokens and sign-in secrets out of logs: uvicorn's access log prints every request path."""

from __future__ import annotations

import logging
import re

_ACTION_PATH = re.compile(r"/a/[^/?#\s\"']+")
REDACTED = "/a/<redacted>"
# The one-time local link, and the provider's code and state on the sign-in callback.
_SIGNIN_SECRET = re.compile(r"(/signin/local/|/signin/callback\?)[^\s\"']+")
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return _SIGNIN_SECRET.sub(r"\1<redacted>", _ACTION_PATH.sub(REDACTED, text))


class RedactActionTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            # uvicorn's access formatter unpacks exactly these args: keep the tuple's shape.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install() -> None:
    """Idempotent: serve() may run more than once in a process (tests)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactActionTokens) for f in logger.filters):
            logger.addFilter(RedactActionTokens())
