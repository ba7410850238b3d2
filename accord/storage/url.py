"""ACCORD_DATABASE_URL shown without its password, for messages and `accord config check`."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

MASK = "********"
# Connection parameters that hold a secret, in a URL's query or a key=value string.
_SECRET_PARAMS = {"password", "sslpassword"}


def describe(url: str) -> str:
    """The connection string with every password replaced by a mask; never raises."""
    url = url.strip()
    if "://" in url:
        return _masked_url(url)
    from psycopg import Error
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    try:
        params = conninfo_to_dict(url)
    except Error:  # not a connection string at all: show nothing of it
        return "(not a PostgreSQL URL)"
    return make_conninfo("", **{k: (MASK if k in _SECRET_PARAMS else v) for k, v in params.items()})


def _masked_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            user, _, host = netloc.rpartition("@")
            if ":" in user:
                user = user.split(":", 1)[0] + ":" + MASK
            netloc = f"{user}@{host}"
        query = urlencode([(k, MASK if k in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "(not a PostgreSQL URL)"


def problem(url: str) -> str | None:
    """Why this cannot be a PostgreSQL connection string, or None if it can."""
    url = url.strip()
    if not url:
        return "is set but empty"
    if "://" in url and urlsplit(url).scheme not in ("postgresql", "postgres"):
        return f"{describe(url)} is not a postgresql:// URL"
    from psycopg import Error
    from psycopg.conninfo import conninfo_to_dict

    try:
        conninfo_to_dict(url)
    except Error as exc:
        return f"{describe(url)} cannot be read as a PostgreSQL connection string ({type(exc).__name__})"
    return None
