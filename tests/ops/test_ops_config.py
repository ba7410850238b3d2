"""Configuration for a real cluster: the file, TLS/mTLS and API key reaching Client.connect,
a real mTLS connection, `accord config check`, JSON log lines and tracing."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl

import pytest
from pydantic import SecretStr
from temporalio.service import TLSConfig
from typer.testing import CliRunner

from accord import client as accord_client
from accord.cli import app
from accord.config import ConfigError, Settings
from accord.ops.telemetry import JsonFormatter
from tests.support.tls_certs import make_pki


@pytest.fixture
def pki(tmp_path):
    return make_pki(tmp_path / "pki")


@pytest.fixture
def clean_env(monkeypatch):
    """No ACCORD_* from the machine running the tests."""
    import os

    for name in list(os.environ):
        if name.startswith("ACCORD_"):
            monkeypatch.delenv(name)
    return monkeypatch


# ---------------------------------------------------------------------- the file


@pytest.mark.parametrize("suffix", ["toml", "yaml"])
def test_config_file_under_variables_over_defaults(tmp_path, clean_env, suffix):
    path = tmp_path / f"accord.{suffix}"
    if suffix == "toml":
        path.write_text('temporal_address = "temporal.prod:7233"\ntemporal_namespace = "accord-prod"\n'
                        'signing_keys = ["old-key", "new-key"]\nmail_backend = "smtp"\nmetrics_port = 9464\n')
    else:
        path.write_text("temporal_address: temporal.prod:7233\ntemporal_namespace: accord-prod\n"
                        "signing_keys: [old-key, new-key]\nmail_backend: smtp\nmetrics_port: 9464\n")
    clean_env.setenv("ACCORD_CONFIG", str(path))
    clean_env.setenv("ACCORD_TEMPORAL_NAMESPACE", "from-env")
    s = Settings()
    assert s.temporal_address == "temporal.prod:7233"  # file over default
    assert s.temporal_namespace == "from-env"  # variable over file
    assert s.keys == ["old-key", "new-key"]  # a list in the file, oldest first
    assert s.mail_backend == "smtp" and s.metrics_port == 9464
    assert Settings(temporal_namespace="arg").temporal_namespace == "arg"  # arguments over both


def test_missing_config_file_is_a_config_error(tmp_path, clean_env):
    clean_env.setenv("ACCORD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="no such file"):
        Settings()


# ---------------------------------------------------------------------- TLS reaching Client.connect


def test_tls_config_is_built_from_the_files_and_passed_to_connect(pki, monkeypatch):
    settings = Settings(temporal_address="temporal.prod:7233", temporal_namespace="accord",
                        temporal_tls_cert=pki.client_cert, temporal_tls_key=pki.client_key,
                        temporal_tls_ca=pki.ca, temporal_tls_server_name="temporal.test")
    seen = {}

    async def fake_connect(target, **kwargs):
        seen.update(kwargs, target=target)
        return "client"

    monkeypatch.setattr(accord_client.Client, "connect", fake_connect)
    assert asyncio.run(accord_client.connect(settings)) == "client"
    tls = seen["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.client_cert == pki.client_cert.read_bytes()
    assert tls.client_private_key == pki.client_key.read_bytes()
    assert tls.server_root_ca_cert == pki.ca.read_bytes()
    assert tls.domain == "temporal.test"
    assert seen["target"] == "temporal.prod:7233" and seen["namespace"] == "accord" and seen["api_key"] is None


def test_api_key_turns_tls_on_with_system_roots():
    options = accord_client.connect_options(Settings(temporal_api_key=SecretStr("cloud-key ")))
    assert options["api_key"] == "cloud-key" and options["tls"] is True
    assert accord_client.connect_options(Settings())["tls"] is False
    assert accord_client.connect_options(Settings(temporal_tls=True))["tls"] is True


def test_half_an_mtls_pair_or_a_missing_file_is_a_clear_error(pki, tmp_path):
    with pytest.raises(ConfigError, match="temporal_tls_cert is set but temporal_tls_key is not"):
        accord_client.tls_config(Settings(temporal_tls_cert=pki.client_cert))
    with pytest.raises(ConfigError, match="temporal_tls_ca .*nope.pem"):
        accord_client.tls_config(Settings(temporal_tls_ca=tmp_path / "nope.pem"))


class TlsProxy:
    """Terminates mTLS (server certificate for temporal.test, client certificates from the
    test CA required) and passes the bytes on to the plain dev server."""

    def __init__(self, pki, upstream: str):
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(pki.ca))
        self.context.load_cert_chain(pki.server_cert, pki.server_key)
        self.context.verify_mode = ssl.CERT_REQUIRED
        self.context.set_alpn_protocols(["h2"])
        self.host, port = upstream.rsplit(":", 1)
        self.port = int(port)
        self.clients: list[str] = []

    async def __aenter__(self):
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.context)
        self.address = f"127.0.0.1:{self.server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc):
        self.server.close()

    async def _handle(self, reader, writer):
        cert = writer.get_extra_info("peercert") or {}
        self.clients.append(dict(x[0] for x in cert.get("subject", ())).get("commonName", ""))
        up_reader, up_writer = await asyncio.open_connection(self.host, self.port)

        async def pipe(r, w):
            try:
                while data := await r.read(65536):
                    w.write(data)
                    await w.drain()
            except (ConnectionError, ssl.SSLError):
                pass
            finally:
                w.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))


async def test_real_mtls_connection_and_config_check_connect(dev_env, pki, clean_env, tmp_path):
    from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

    async with TlsProxy(pki, dev_env.client.service_client.config.target_host) as proxy:
        settings = Settings(temporal_address=proxy.address, temporal_tls_cert=pki.client_cert,
                            temporal_tls_key=pki.client_key, temporal_tls_ca=pki.ca,
                            temporal_tls_server_name="temporal.test")
        client = await accord_client.connect(settings)
        await client.workflow_service.get_system_info(GetSystemInfoRequest())
        assert "accord-worker" in proxy.clients  # the client certificate was presented and accepted

        # Without the client certificate the server refuses the handshake.
        with pytest.raises(RuntimeError):
            await asyncio.wait_for(accord_client.connect(Settings(
                temporal_address=proxy.address, temporal_tls_ca=pki.ca, temporal_tls_server_name="temporal.test")), 20)

        # The documented operator check, through the same TLS settings given as variables.
        for name, value in {"TEMPORAL_ADDRESS": proxy.address, "TEMPORAL_TLS_CERT": pki.client_cert,
                            "TEMPORAL_TLS_KEY": pki.client_key, "TEMPORAL_TLS_CA": pki.ca,
                            "TEMPORAL_TLS_SERVER_NAME": "temporal.test", "SIGNING_KEYS": "x" * 40,
                            "DATA_DIR": tmp_path / "data"}.items():
            clean_env.setenv(f"ACCORD_{name}", str(value))
        result = await asyncio.to_thread(CliRunner().invoke, app, ["config", "check", "--connect"])
        assert result.exit_code == 0, result.output
        assert "connected to " + proxy.address in result.output and "search attributes registered" in result.output


# ---------------------------------------------------------------------- accord config check


def test_config_check_masks_secrets_and_lists_every_problem(pki, tmp_path, clean_env):
    config = tmp_path / "accord.toml"
    config.write_text('mail_backend = "sendgrid"\ntemporal_adress = "typo:7233"\n'
                      'temporal_api_key = "cloud-secret-value"\nsigning_keys = ["a-very-secret-signing-key"]\n')
    clean_env.setenv("ACCORD_CONFIG", "")  # --config sets it for the process: restore it afterwards
    clean_env.setenv("ACCORD_TEMPORAL_TLS_CERT", str(pki.client_cert))
    clean_env.setenv("ACCORD_TEMPORAL_TLS_CA", str(tmp_path / "missing-ca.pem"))
    clean_env.setenv("ACCORD_SMTP_PASSWORD", "smtp-secret-value")
    result = CliRunner().invoke(app, ["config", "check", "--config", str(config)])
    out = result.output
    assert result.exit_code == 1
    assert "Traceback" not in out
    for secret in ("cloud-secret-value", "a-very-secret-signing-key", "smtp-secret-value"):
        assert secret not in out
    assert "********" in out
    assert "error: temporal_tls_cert: a client certificate without its key" in out
    assert "error: temporal_tls_ca: " in out and "missing-ca.pem: no such file" in out
    assert "error: sendgrid_api_key: mail_backend is sendgrid but no API key is set" in out
    assert "error: temporal_adress: unknown setting" in out and "did you mean temporal_address?" in out
    assert "problem(s) found" in out


def test_config_check_mismatched_key_bad_value_and_unreachable_server(pki, tmp_path, clean_env):
    clean_env.setenv("ACCORD_TEMPORAL_TLS_CERT", str(pki.client_cert))
    clean_env.setenv("ACCORD_TEMPORAL_TLS_KEY", str(pki.other_key))
    mismatched = CliRunner().invoke(app, ["config", "check"])
    assert mismatched.exit_code == 1 and "does not match temporal_tls_cert" in mismatched.output

    clean_env.setenv("ACCORD_WEB_PORT", "eighty")
    bad = CliRunner().invoke(app, ["config", "check"])
    assert bad.exit_code == 1 and "Traceback" not in bad.output
    assert "web_port" in bad.output and "ACCORD_WEB_PORT" in bad.output

    clean_env.delenv("ACCORD_TEMPORAL_TLS_CERT")
    clean_env.delenv("ACCORD_TEMPORAL_TLS_KEY")
    clean_env.delenv("ACCORD_WEB_PORT")
    clean_env.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    down = CliRunner().invoke(app, ["config", "check", "--connect", "--address", "127.0.0.1:1"])
    assert down.exit_code == 1 and "Traceback" not in down.output
    assert "error: temporal_address: cannot connect to 127.0.0.1:1" in down.output

    ok = CliRunner().invoke(app, ["config", "check"])
    assert ok.exit_code == 0 and "ok: the configuration has no errors" in ok.output
    assert not (tmp_path / "data").exists()  # checking writes nothing (no key generated)


# ---------------------------------------------------------------------- logs and traces


def test_json_log_lines_carry_the_workflow_id():
    record = logging.makeLogRecord({
        "name": "temporalio.activity", "levelno": logging.INFO, "levelname": "INFO", "msg": "email %s sent",
        "args": ("k1",), "temporal_activity": {"workflow_id": "partnership-x", "workflow_run_id": "r1",
                                               "activity_type": "send_email", "attempt": 2}, "stage": "mou"})
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "email k1 sent" and line["level"] == "INFO"
    assert line["workflow_id"] == "partnership-x" and line["run_id"] == "r1" and line["attempt"] == 2
    assert line["activity_type"] == "send_email" and line["stage"] == "mou"
    assert line["time"].endswith("Z")


async def test_tracing_spans_for_client_workflow_and_activities(dev_env, settings):
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
        InMemorySpanExporter,
    )
    from temporalio.client import Client

    from accord.client import Accord
    from accord.ops.telemetry import tracing_interceptors
    from tests.support.helpers import state_where, unique
    from tests.support.paths import DATA
    from tests.support.workers import running_worker

    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    interceptors = tracing_interceptors(settings.model_copy(update={"tracing": "console"}), span_exporter=exporter)
    config = dev_env.client.config()
    config["interceptors"] = interceptors
    client = Client(**config)
    accord = Accord(client, settings)
    async with running_worker(client, settings):
        wf = await accord.start(unique(DATA / "screening.yaml"))
        await state_where(accord, wf, lambda s: len(s.tasks) == 7)

        def names() -> set[str]:
            provider.force_flush()
            return {s.name for s in exporter.get_finished_spans()}

        async def traced() -> None:
            assert {"StartWorkflow:PartnershipWorkflow", "RunWorkflow:PartnershipWorkflow",
                    "StartActivity:send_email", "RunActivity:send_email"} <= names(), names()

        from tests.support.helpers import eventually

        await eventually(traced, timeout=20)
        await client.get_workflow_handle(wf).terminate(reason="test finished")
    spans = exporter.get_finished_spans()
    assert len({s.context.trace_id for s in spans if s.name.endswith("PartnershipWorkflow")}) == 1  # one trace
