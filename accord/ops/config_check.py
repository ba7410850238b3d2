"""`accord config check`: the effective configuration, secrets masked, and what is wrong with it.

Every problem is found in one run and said in words (which setting, what to do); nothing
here raises a traceback at an operator. ``load()`` turns what pydantic-settings refuses into
findings too, so a wrong type in a variable or the file is reported like any other problem.
"""

from __future__ import annotations

import asyncio
import difflib
import importlib.util
import os
import ssl
import tomllib
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import SecretStr, ValidationError

from accord import signing_keys
from accord.config import CONFIG_ENV, ConfigError, Settings, config_file
from accord.storage.url import describe
from accord.storage.url import problem as url_problem

if TYPE_CHECKING:
    from temporalio.client import Client

PREFIX = "ACCORD_"
# ACCORD_* variables that are not settings but are read elsewhere.
OTHER_VARIABLES = {CONFIG_ENV, "ACCORD_TEST_SERVER_BIN", "ACCORD_RECORD_HISTORIES"}
MASK = "********"


@dataclass(frozen=True)
class Finding:
    level: Literal["error", "warning"]
    setting: str
    message: str

    def __str__(self) -> str:
        return f"{self.level}: {self.setting}: {self.message}"


@dataclass(frozen=True)
class Row:
    setting: str
    value: str
    source: str  # argument | env | file | default


def load(**overrides) -> tuple[Settings | None, list[Finding]]:
    """Settings as the processes would build them, or the reasons they cannot be built."""
    try:
        return Settings(**overrides), []
    except ConfigError as exc:
        return None, [Finding("error", CONFIG_ENV, str(exc))]
    except ValidationError as exc:
        findings = []
        for e in exc.errors():
            field = ".".join(str(p) for p in e["loc"]) or "?"
            findings.append(Finding("error", field, f"{e['msg']} (got {e.get('input')!r}; from {_source_of(field)})"))
        return None, findings
    except (OSError, ValueError, tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        return None, [Finding("error", CONFIG_ENV, f"{config_file()}: cannot be read: {exc}")]


def _file_keys() -> dict:
    path = config_file()
    if path is None or not path.is_file():
        return {}
    try:
        if path.suffix.lower() == ".toml":
            return tomllib.loads(path.read_text())
        return yaml.safe_load(path.read_text()) or {}
    except Exception:  # noqa: BLE001 - a file that cannot be read is reported by load()
        return {}


def _source_of(field: str, overrides: dict | None = None) -> str:
    if overrides and field in overrides:
        return "argument"
    if PREFIX + field.upper() in os.environ:
        return f"env {PREFIX}{field.upper()}"
    if field in _file_keys():
        return f"file {config_file()}"
    return "default"


def effective(settings: Settings, overrides: dict | None = None) -> list[Row]:
    """Every setting, its value as it is used (secrets masked) and where it came from."""
    rows = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = f"{MASK} (set)" if value.get_secret_value() else "(empty)"
            if name == "signing_keys":
                shown = f"{MASK} ({len(signing_keys.split(value.get_secret_value()))} key(s))"
            if name == "database_url":  # where, without the password
                shown = describe(value.get_secret_value())
        elif value is None:
            shown = "-"
        elif isinstance(value, list):
            shown = ", ".join(str(v) for v in value) or "-"
        else:
            shown = str(value)
        rows.append(Row(name, shown, _source_of(name, overrides).split(" ")[0]))
    return rows


def check(settings: Settings) -> list[Finding]:
    """Problems that can be seen without talking to anything."""
    findings: list[Finding] = []
    findings += _unknown_names()
    findings += _tls(settings)
    findings += _mail(settings)
    findings += _web_and_keys(settings)
    findings += _processes(settings)
    if settings.database_url is not None and (wrong := url_problem(settings.database_url.get_secret_value())):
        findings.append(Finding("error", "database_url", wrong))
    return findings


def _unknown_names() -> list[Finding]:
    known = set(Settings.model_fields)
    found = []
    for key in _file_keys():
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            found.append(Finding("error", str(key), f"unknown setting in {config_file()}{hint}; it would be ignored"))
    for var in os.environ:
        if var.startswith(PREFIX) and var not in OTHER_VARIABLES and var[len(PREFIX):].lower() not in known:
            close = difflib.get_close_matches(var[len(PREFIX):].lower(), known, n=1)
            hint = f" (did you mean {PREFIX}{close[0].upper()}?)" if close else ""
            found.append(Finding("warning", var, f"not an Accord setting{hint}; it is ignored"))
    return found


def _readable(path: Path, setting: str) -> Finding | None:
    if not path.exists():
        return Finding("error", setting, f"{path}: no such file")
    if not path.is_file():
        return Finding("error", setting, f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return Finding("error", setting, f"{path}: cannot be read ({exc.strerror})")
    if b"-----BEGIN" not in data:
        return Finding("error", setting, f"{path}: not a PEM file (no -----BEGIN line)")
    return None


def _tls(s: Settings) -> list[Finding]:
    out: list[Finding] = []
    if s.temporal_tls_cert and not s.temporal_tls_key:
        out.append(Finding("error", "temporal_tls_cert", "a client certificate without its key: set temporal_tls_key too"))
    if s.temporal_tls_key and not s.temporal_tls_cert:
        out.append(Finding("error", "temporal_tls_key", "a client key without its certificate: set temporal_tls_cert too"))
    files = {"temporal_tls_cert": s.temporal_tls_cert, "temporal_tls_key": s.temporal_tls_key, "temporal_tls_ca": s.temporal_tls_ca}
    bad = set()
    for name, path in files.items():
        problem = _readable(Path(path), name) if path is not None else None
        if problem:
            out.append(problem)
            bad.add(name)
    if s.temporal_tls_cert and s.temporal_tls_key and not bad & {"temporal_tls_cert", "temporal_tls_key"}:
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_cert_chain(s.temporal_tls_cert, s.temporal_tls_key)
        except ssl.SSLError as exc:
            out.append(Finding("error", "temporal_tls_key", f"does not match temporal_tls_cert, or is not a usable key ({exc.reason or exc})"))
    if s.temporal_tls_ca and "temporal_tls_ca" not in bad:
        try:
            ssl.create_default_context(cafile=str(s.temporal_tls_ca))
        except ssl.SSLError as exc:
            out.append(Finding("error", "temporal_tls_ca", f"not a usable CA certificate ({exc.reason or exc})"))
    if s.temporal_api_key and not s.temporal_api_key.get_secret_value().strip():
        out.append(Finding("error", "temporal_api_key", "is set but empty"))
    if s.temporal_api_key and s.temporal_tls_cert:
        out.append(Finding("warning", "temporal_api_key", "both an API key and a client certificate are set; Temporal Cloud namespaces use one or the other"))
    if ".tmprl.cloud" in s.temporal_address and not s.temporal_tls_enabled:
        out.append(Finding("error", "temporal_address", "a Temporal Cloud address needs TLS: set temporal_api_key, or temporal_tls_cert and temporal_tls_key"))
    return out


def _mail(s: Settings) -> list[Finding]:
    out: list[Finding] = []
    if s.mail_backend == "sendgrid":
        if not (s.sendgrid_api_key and s.sendgrid_api_key.get_secret_value().strip()):
            out.append(Finding("error", "sendgrid_api_key", "mail_backend is sendgrid but no API key is set (a key with Mail Send access)"))
        if not s.sendgrid_webhook_public_key:
            out.append(Finding("warning", "sendgrid_webhook_public_key", "not set: POST /webhooks/sendgrid refuses every event, so bounces are not reported to partnerships"))
    if s.mail_backend == "smtp":
        if s.smtp_username and not s.smtp_password:
            out.append(Finding("error", "smtp_password", "smtp_username is set without a password"))
        if s.smtp_password and not s.smtp_starttls and s.smtp_host not in ("localhost", "127.0.0.1", "mailpit"):
            out.append(Finding("warning", "smtp_starttls", f"off: the SMTP password would cross the network to {s.smtp_host} in clear"))
    if "@" not in s.mail_from:
        out.append(Finding("error", "mail_from", f"{s.mail_from!r} has no email address"))
    elif any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in s.mail_from):
        out.append(Finding("error", "mail_from", "holds a line break or control character: no email could be sent"))
    return out


def _web_and_keys(s: Settings) -> list[Finding]:
    out: list[Finding] = []
    url = urlsplit(s.web_base_url)
    if url.scheme not in ("http", "https") or not url.netloc:
        out.append(Finding("error", "web_base_url", f"{s.web_base_url!r} is not an http(s) URL: links in emails are built from it"))
    elif url.scheme == "http" and url.hostname not in ("localhost", "127.0.0.1"):
        out.append(Finding("warning", "web_base_url", "plain http: action links carry signed tokens; serve the web app over https"))
    out += _signing_keys(s)
    for folder in s.template_dirs:
        if not Path(folder).is_dir():
            out.append(Finding("error", "template_dirs", f"{folder}: no such folder"))
    return out


def _signing_keys(s: Settings) -> list[Finding]:
    """What the worker and web app check when they start (accord/signing_keys.py), as findings."""
    try:
        keys = signing_keys.keys_for(s, create=False)  # the check never writes a key file
    except ConfigError as exc:
        return [Finding("error", "signing_keys", f"{exc}: the worker and web app refuse to start")]
    if not keys:
        return [Finding("warning", "signing_keys", f"not set: a key is generated in {signing_keys.key_file(s)}; "
                                                   "workers and web apps on other machines must share ACCORD_SIGNING_KEYS")]
    where = "" if s.signing_keys is not None else f"{signing_keys.key_file(s)}: "
    return [Finding("error", "signing_keys", f"{where}{problem}: the worker and web app refuse to start")
            for problem in signing_keys.problems(keys)]


def _processes(s: Settings) -> list[Finding]:
    out: list[Finding] = []
    if s.metrics_port is not None and s.metrics_port == s.web_port and s.metrics_host in (s.web_host, "0.0.0.0"):
        out.append(Finding("warning", "metrics_port", f"{s.metrics_port} is also web_port: a worker and the web app on one host cannot both bind it"))
    if s.tracing != "off" and importlib.util.find_spec("opentelemetry.sdk") is None:
        out.append(Finding("error", "tracing", f"{s.tracing} needs the tracing extra: pip install 'accord[tracing]'"))
    if s.tracing == "otlp" and importlib.util.find_spec("opentelemetry.exporter.otlp.proto.http") is None:
        out.append(Finding("error", "tracing", "otlp needs opentelemetry-exporter-otlp-proto-http: pip install 'accord[tracing]'"))
    return out


async def check_server(settings: Settings, connect: Callable[[Settings], Awaitable[Client]],
                       timeout: float = 10) -> list[Finding]:
    """Connect as the worker would (``connect``: accord.client.connect); then the namespace and
    Accord's search attributes."""
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
    from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
    from temporalio.service import RPCError

    from accord import search_attributes as sa

    where = f"{settings.temporal_address} (namespace {settings.temporal_namespace})"
    try:
        client = await asyncio.wait_for(connect(settings), timeout)
    except ConfigError as exc:
        return [Finding("error", "temporal_address", str(exc))]
    except TimeoutError:
        return [Finding("error", "temporal_address", f"{where}: no answer in {timeout:g} s")]
    except RuntimeError as exc:
        return [Finding("error", "temporal_address", f"cannot connect to {where}: {exc}")]
    out: list[Finding] = []
    try:
        await client.workflow_service.describe_namespace(DescribeNamespaceRequest(namespace=settings.temporal_namespace))
    except RPCError as exc:
        return [Finding("error", "temporal_namespace", f"{where}: {exc.message}")]
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=settings.temporal_namespace))
        missing = [k.name for k in sa.ALL if k.name not in listed.custom_attributes]
        if missing:
            out.append(Finding("error", "temporal_namespace", f"search attributes missing: {', '.join(missing)} "
                                                              "(run `accord setup`, or register them in Temporal Cloud)"))
    except RPCError as exc:
        # Temporal Cloud answers the operator service only to admins: not a failure of the config.
        out.append(Finding("warning", "temporal_namespace", f"cannot list search attributes ({exc.message}); "
                                                            f"make sure {', '.join(k.name for k in sa.ALL)} exist"))
    return out


async def check_database(settings: Settings) -> tuple[str | None, list[Finding]]:
    """With database_url set: connect, and say whether the schema is current (`accord setup` makes it so)."""
    from accord.storage import StorageError, describe_storage, migrations

    if settings.database_url is None or url_problem(settings.database_url.get_secret_value()):
        return None, []  # the embedded default, or already reported by check()
    url = settings.database_url.get_secret_value()
    try:
        conn = await migrations.connect(url)
        try:
            version = await migrations.require_current(conn, describe(url))
        finally:
            await conn.close()
    except StorageError as exc:
        return None, [Finding("error", "database_url", str(exc))]
    return f"{describe_storage(settings)}: schema current (version {version})", []
