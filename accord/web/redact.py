"""Keep secrets out of logs: uvicorn's access log prints every request's path and query string.

Three kinds: action tokens, which live in the path (``/a/<token>``); sign-in secrets (the
one-time local link, the provider's code and state on the callback); and credentials someone
put in a query string (``?api_key=...``, ``?token=...``). The HTTP API refuses the last
outright (:func:`secret_parameters`); the log never shows any of them, whoever sent them.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, unquote_plus

_ACTION_PATH = re.compile(r"/a/[^/?#\s\"']+")
REDACTED = "/a/<redacted>"
# The one-time local link, and the provider's code and state on the sign-in callback.
_SIGNIN_SECRET = re.compile(r"(/signin/local/|/signin/callback\?)[^\s\"']+")
LOGGERS = ("uvicorn.access", "uvicorn.error")

# Query parameter names that carry credentials, compared lower-case without "-" and "_"
# (so api_key, API-Key and apikey are one name).
SECRET_PARAMETERS = frozenset({
    "apikey", "key", "token", "accesstoken", "auth", "authorization", "bearer", "secret", "password",
})
_PARAMETER = re.compile(r"([?&;])([^=&;?#\s\"']+)=([^&;#\s\"']*)")


def is_secret_parameter(name: str) -> bool:
    return unquote_plus(name).lower().replace("-", "").replace("_", "") in SECRET_PARAMETERS


def secret_parameters(query_string: bytes) -> list[str]:
    """The names of the credential-like parameters in a raw query string."""
    pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
    return [name for name, _ in pairs if is_secret_parameter(name)]


def redact(text: str) -> str:
    text = _SIGNIN_SECRET.sub(r"\1<redacted>", _ACTION_PATH.sub(REDACTED, text))
    return _PARAMETER.sub(lambda m: f"{m[1]}{m[2]}=<redacted>" if is_secret_parameter(m[2]) else m[0], text)


class RedactActionTokens(logging.Filter):
    """Redacts action tokens and credential-like query parameters (the name is historical)."""

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
