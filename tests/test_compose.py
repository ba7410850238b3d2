"""docker-compose.yml and the Dockerfile, checked against the code (no Docker daemon here):
every Accord command is a real CLI command with real options, every ACCORD_* variable a
real setting with a valid value, images pinned, ports and addresses consistent; secrets only
from .env (documented in .env.example, no fallback), and nothing but the web app published
beyond this host's loopback."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import click
import pytest
import typer.main
import yaml

from accord import signing_keys
from accord.cli import app
from accord.config import Settings
from accord.ops.config_check import OTHER_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
# What an operator puts in .env (the example leaves the secrets empty on purpose).
FILLED_IN = {"ACCORD_SIGNING_KEYS": "a" * 43, "POSTGRES_PASSWORD": "p" * 32}
SECRET_NAME = re.compile(r"PASSWORD|PWD|SECRET|SIGNING_KEYS|API_KEYS?$|TOKEN")
REFERENCE = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PINNED = re.compile(r"^[\w.\-/]+:v?\d+(\.\d+)+(-[\w.\-]+)?$")


def _resolve(value: str, env: dict[str, str] = FILLED_IN) -> str:
    """Compose interpolation with ``env`` as .env: ${X:-default}, ${X:?error} (an error if X is
    unset or empty, as `docker compose` refuses to start then)."""
    def one(m: re.Match) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        value = env.get(name, "")
        if op == ":?" and not value:
            raise ValueError(f"{name}: {arg}")
        return value or (arg if op == ":-" else "")

    return REFERENCE.sub(one, str(value))


def env_of(name: str) -> dict[str, str]:
    env = SERVICES[name].get("environment") or {}
    return {k: _resolve(v) for k, v in env.items()}


def accord_services() -> list[str]:
    return [n for n, s in SERVICES.items() if "build" in s]


def host_port(service: str, container_port: int) -> int | None:
    for mapping in SERVICES[service].get("ports", []):
        parts = str(mapping).split(":")
        if int(parts[-1]) == container_port:
            return int(parts[-2])
    return None


def test_images_are_pinned():
    for name, service in SERVICES.items():
        if "image" in service:
            assert PINNED.match(service["image"]), f"{name}: {service['image']} is not pinned to a version"
            assert ":latest" not in service["image"]
        else:
            assert service.get("build") == ".", f"{name}: neither a pinned image nor the project's Dockerfile"


@pytest.mark.parametrize("service", accord_services())
def test_commands_are_real_cli_commands_with_real_options(service):
    command = SERVICES[service]["command"]
    assert command[0] == "accord"
    assert PYPROJECT["project"]["scripts"]["accord"] == "accord.cli:app"
    group = typer.main.get_command(app)
    args = list(command[1:])
    cmd: click.Command = group
    while isinstance(cmd, click.Group):
        name = args.pop(0)
        assert name in cmd.commands, f"{service}: `accord {name}` is not a command"
        cmd = cmd.commands[name]
    cmd.make_context(cmd.name, args)  # raises UsageError on an unknown option or a bad value


@pytest.mark.parametrize("service", accord_services())
def test_environment_is_real_settings_with_valid_values(service, monkeypatch):
    env = env_of(service)
    fields = set(Settings.model_fields)
    for name in env:
        assert name.startswith("ACCORD_"), f"{service}: {name} is not an Accord variable"
        assert name[len("ACCORD_"):].lower() in fields or name in OTHER_VARIABLES, f"{service}: {name} is no setting"
    for name in [n for n in __import__("os").environ if n.startswith("ACCORD_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = Settings()  # validates every value as the container would
    assert str(settings.data_dir) == "/data"
    # The data folder is the volume the image declares and the services mount.
    if service != "setup":  # setup only talks to Temporal
        assert "VOLUME /data" in DOCKERFILE and "accord:/data" in SERVICES[service]["volumes"]


def test_addresses_and_ports_are_consistent():
    for service in accord_services():
        env = env_of(service)
        host, port = env["ACCORD_TEMPORAL_ADDRESS"].split(":")
        assert host == "temporal" and int(port) == 7233 and host_port("temporal", 7233) == 7233
        assert env["ACCORD_SMTP_HOST"] in SERVICES and SERVICES[env["ACCORD_SMTP_HOST"]]["image"].startswith("axllent/mailpit:")
        assert env["ACCORD_SMTP_PORT"] == "1025" and env["ACCORD_SMTP_STARTTLS"] == "false"  # Mailpit: plain SMTP on 1025
        ui_port = int(env["ACCORD_TEMPORAL_UI_URL"].rsplit(":", 1)[1])
        assert host_port("temporal-ui", 8080) == ui_port
        assert env["ACCORD_WEB_BASE_URL"] == f"http://localhost:{host_port('web', 8000)}"
    assert env_of("temporal-ui")["TEMPORAL_ADDRESS"] == "temporal:7233"

    web = env_of("web")
    assert web["ACCORD_WEB_HOST"] == "0.0.0.0" and int(web["ACCORD_WEB_PORT"]) == 8000
    assert "8000/readyz" in " ".join(SERVICES["web"]["healthcheck"]["test"])

    worker = env_of("worker")
    assert worker["ACCORD_METRICS_HOST"] == "0.0.0.0"
    port = worker["ACCORD_METRICS_PORT"]
    assert SERVICES["worker"]["expose"] == [port] and f"EXPOSE 8000 {port}" in DOCKERFILE
    assert f"{port}/readyz" in " ".join(SERVICES["worker"]["healthcheck"]["test"])
    assert "ports" not in SERVICES["worker"], "replicas (--scale worker=N) cannot share a host port"
    grace = float(worker["ACCORD_WORKER_SHUTDOWN_GRACE"])
    assert int(SERVICES["worker"]["stop_grace_period"].rstrip("s")) > grace


def test_search_attributes_are_registered_before_the_worker_and_web_start():
    assert SERVICES["setup"]["command"][:2] == ["accord", "setup"]
    for service in ("worker", "web"):
        assert SERVICES[service]["depends_on"]["setup"] == {"condition": "service_completed_successfully"}
    temporal = env_of("temporal")
    assert temporal["DB"] == "postgres12" and temporal["POSTGRES_SEEDS"] in SERVICES  # SQL visibility: custom search attributes
    assert SERVICES["temporal"]["depends_on"]["postgresql"] == {"condition": "service_healthy"}


def test_dockerfile_installs_what_the_commands_need():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in {p.rstrip("*") for p in include}:
        assert re.search(rf"^COPY {package} \./{package}$", DOCKERFILE, re.M), f"{package} is not copied"
    for module in PYPROJECT["tool"]["setuptools"]["py-modules"]:
        assert re.search(rf"^COPY .*\b{module}\.py\b", DOCKERFILE, re.M)
    assert "pyproject.toml" in DOCKERFILE and "README.md" in DOCKERFILE  # the build reads both
    install = re.search(r'pip install --no-cache-dir "\.\[([\w,]+)\]"', DOCKERFILE)
    assert install and set(install.group(1).split(",")) <= set(PYPROJECT["project"]["optional-dependencies"])
    assert "tracing" in install.group(1)  # ACCORD_TRACING=otlp works in the image
    assert 'CMD ["accord", "worker"]' in DOCKERFILE and "STOPSIGNAL SIGTERM" in DOCKERFILE
    python = re.search(r"^FROM python:(\d+\.\d+)", DOCKERFILE, re.M).group(1)
    assert PYPROJECT["project"]["requires-python"] == ">=3.11" and tuple(map(int, python.split("."))) >= (3, 11)


# ---------------------------------------------------------------------- secrets and exposure


def example_variables() -> dict[str, str]:
    """NAME=value lines of .env.example, each preceded by its comment."""
    found = {}
    lines = ENV_EXAMPLE.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\w+)=(.*)$", line)
        if m:
            assert i > 0 and lines[i - 1].startswith("#"), f".env.example: {m.group(1)} is not documented"
            found[m.group(1)] = m.group(2)
    return found


def test_secrets_come_only_from_the_env_file_with_no_fallback():
    assert "change-me" not in COMPOSE_TEXT
    secrets_seen = set()
    for name, service in SERVICES.items():
        for variable, value in (service.get("environment") or {}).items():
            if not SECRET_NAME.search(variable):
                continue
            m = REFERENCE.fullmatch(str(value))
            assert m, f"{name}: {variable} is written in the file ({value!r}); take it from .env"
            secrets_seen.add(m.group(1))
            if m.group(2) != ":?":  # optional: only an empty default, never a usable secret
                assert m.group(2) == ":-" and m.group(3) in ("", "[]"), f"{name}: {variable} falls back to {m.group(3)!r}"
    assert {"ACCORD_SIGNING_KEYS", "POSTGRES_PASSWORD", "ACCORD_API_KEYS"} <= secrets_seen

    # Without them filled in, compose refuses to start (as `docker compose config` would).
    for missing in ("ACCORD_SIGNING_KEYS", "POSTGRES_PASSWORD"):
        with pytest.raises(ValueError, match=f"{missing}: set {missing} in .env"):
            for service in SERVICES.values():
                for value in (service.get("environment") or {}).values():
                    _resolve(value, {**FILLED_IN, missing: ""})
    assert env_of("postgresql")["POSTGRES_PASSWORD"] == env_of("temporal")["POSTGRES_PWD"] == FILLED_IN["POSTGRES_PASSWORD"]


def test_every_variable_compose_reads_is_documented_in_env_example_and_env_is_ignored():
    documented = example_variables()
    referenced = {m.group(1) for m in REFERENCE.finditer(COMPOSE_TEXT)}
    assert referenced == set(documented), f"compose reads {sorted(referenced)}; .env.example has {sorted(documented)}"
    # The example holds no secret anyone could deploy with: the required ones are empty.
    assert documented["ACCORD_SIGNING_KEYS"] == "" and documented["POSTGRES_PASSWORD"] == ""
    assert signing_keys.problems([FILLED_IN["ACCORD_SIGNING_KEYS"]]) == []  # what the test fills in would pass
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT, check=False).returncode == 0
    example_ignored = subprocess.run(["git", "check-ignore", "-q", ".env.example"], cwd=ROOT, check=False).returncode == 0
    assert ignored and not example_ignored


def test_only_the_web_app_is_published_beyond_loopback():
    published = {}
    for name, service in SERVICES.items():
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            published[name] = parts[0] if len(parts) == 3 else "0.0.0.0"
    assert published.pop("web") == "0.0.0.0"
    assert published == {"temporal": "127.0.0.1", "temporal-ui": "127.0.0.1", "mailpit": "127.0.0.1"}
    assert "ports" not in SERVICES["postgresql"]
    assert env_of("temporal")["POSTGRES_PWD"] != "temporal" and env_of("postgresql")["POSTGRES_PASSWORD"] != "temporal"
