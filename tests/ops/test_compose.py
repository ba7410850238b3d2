"""docker-compose.yml and the Dockerfile, checked against the code (no Docker daemon here):
every Accord command is a real CLI command with real options, every ACCORD_* variable a
real setting with a valid value, images pinned, ports and addresses consistent; secrets only
from .env (documented in .env.example, no fallback), and nothing but the web app published
beyond this host's loopback; Accord's state in its own PostgreSQL database (the init step's
SQL run against a real PostgreSQL, as compose runs it), no data shared through a volume, and
the web app behind sign-in through the identity provider .env names."""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from urllib.parse import urlsplit

import click
import pytest
import typer.main
import yaml

from accord import signing_keys
from accord.cli import app
from accord.config import Settings
from accord.ops.config_check import OTHER_VARIABLES
from accord.storage import migrations
from accord.web.auth import oidc
from tests.support.paths import ROOT
from tests.support.postgres import bin_dir, running_postgres

COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
# What an operator puts in .env (the example leaves the secrets empty on purpose).
FILLED_IN = {"ACCORD_SIGNING_KEYS": "a" * 43, "POSTGRES_PASSWORD": "p" * 32, "ACCORD_DB_PASSWORD": "d" * 32,
             "ACCORD_OIDC_ISSUER": "https://login.example.org/realms/staff", "ACCORD_OIDC_CLIENT_ID": "accord",
             "ACCORD_OIDC_CLIENT_SECRET": "s" * 32, "ACCORD_OIDC_ROLES": '{"accord-ops": "ops", "staff": "viewer"}'}
REQUIRED = ("ACCORD_SIGNING_KEYS", "POSTGRES_PASSWORD", "ACCORD_DB_PASSWORD", "ACCORD_OIDC_ISSUER",
            "ACCORD_OIDC_CLIENT_ID", "ACCORD_OIDC_CLIENT_SECRET", "ACCORD_OIDC_ROLES")
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
    assert PYPROJECT["project"]["scripts"]["accord"] == "accord.cli:main"
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
    assert str(settings.data_dir) == "/data" and "VOLUME /data" in DOCKERFILE
    # Accord's state is in its database: no service shares a data folder with another.
    assert "volumes" not in SERVICES[service], f"{service} mounts a volume: Accord's state belongs in PostgreSQL"
    assert settings.database_url is not None and not signing_keys.problems(signing_keys.keys_for(settings))


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


def test_search_attributes_and_schema_are_in_place_before_the_worker_and_web_start():
    assert SERVICES["setup"]["command"][:2] == ["accord", "setup"]
    assert SERVICES["setup"]["depends_on"]["accord-database"] == {"condition": "service_completed_successfully"}
    assert SERVICES["accord-database"]["depends_on"]["postgresql"] == {"condition": "service_healthy"}
    for service in ("worker", "web"):
        assert SERVICES[service]["depends_on"]["setup"] == {"condition": "service_completed_successfully"}
    temporal = env_of("temporal")
    assert temporal["DB"] == "postgres12" and temporal["POSTGRES_SEEDS"] in SERVICES  # SQL visibility: custom search attributes
    assert SERVICES["temporal"]["depends_on"]["postgresql"] == {"condition": "service_healthy"}


def test_dockerfile_installs_what_the_commands_need():
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    for package in {p.rstrip("*") for p in include}:
        assert re.search(rf"^COPY {package} \./{package}$", DOCKERFILE, re.MULTILINE), f"{package} is not copied"
    for module in PYPROJECT["tool"]["setuptools"]["py-modules"]:
        assert re.search(rf"^COPY .*\b{module}\.py\b", DOCKERFILE, re.MULTILINE)
    assert "pyproject.toml" in DOCKERFILE and "README.md" in DOCKERFILE  # the build reads both
    install = re.search(r'pip install --no-cache-dir "\.\[([\w,]+)\]"', DOCKERFILE)
    assert install and set(install.group(1).split(",")) <= set(PYPROJECT["project"]["optional-dependencies"])
    assert "tracing" in install.group(1)  # ACCORD_TRACING=otlp works in the image
    assert 'CMD ["accord", "worker"]' in DOCKERFILE and "STOPSIGNAL SIGTERM" in DOCKERFILE
    python = re.search(r"^FROM python:(\d+\.\d+)", DOCKERFILE, re.MULTILINE).group(1)
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
    assert {"ACCORD_SIGNING_KEYS", "POSTGRES_PASSWORD", "ACCORD_API_KEYS", "ACCORD_DB_PASSWORD",
            "ACCORD_OIDC_CLIENT_SECRET"} <= secrets_seen
    # The database URL's only secret, its password, comes from .env too (the rest is the stack's own).
    for service in accord_services():
        url = SERVICES[service]["environment"]["ACCORD_DATABASE_URL"]
        assert re.fullmatch(r"postgresql://accord:\$\{ACCORD_DB_PASSWORD:\?[^}]+\}@postgresql:5432/accord", url), url

    # Without them filled in, compose refuses to start (as `docker compose config` would).
    for missing in REQUIRED:
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
    assert all(documented[name] == "" for name in REQUIRED)
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


# ---------------------------------------------------------------------- Accord's database and sign-in


def test_accord_has_its_own_database_and_user_beside_temporals():
    init = env_of("accord-database")
    assert SERVICES["accord-database"]["image"] == SERVICES["postgresql"]["image"]  # the same psql as the server
    assert (init["PGHOST"], init["PGUSER"]) == ("postgresql", env_of("postgresql")["POSTGRES_USER"])
    assert init["PGPASSWORD"] == env_of("postgresql")["POSTGRES_PASSWORD"]
    for service in accord_services():
        url = urlsplit(env_of(service)["ACCORD_DATABASE_URL"])
        assert (url.scheme, url.hostname, url.port, url.path) == ("postgresql", "postgresql", 5432, "/accord")
        assert url.username == "accord" != env_of("temporal")["POSTGRES_USER"]  # not Temporal's superuser
        assert url.password == init["ACCORD_DB_PASSWORD"] == FILLED_IN["ACCORD_DB_PASSWORD"]


async def test_the_init_step_makes_the_database_setup_migrates_and_a_new_password_rotates(tmp_path):
    """The init step's own script, run by psql against a real PostgreSQL whose superuser is
    `temporal` (as in compose), twice; then `accord setup`'s migrations as the user it made."""
    script = SERVICES["accord-database"]["command"]
    assert script[:2] == ["sh", "-c"]
    psql = bin_dir() / "psql"
    with running_postgres(superuser=env_of("postgresql")["POSTGRES_USER"]) as pg:
        def init(password: str) -> subprocess.CompletedProcess:
            env = {**os.environ, "PATH": f"{psql.parent}{os.pathsep}{os.environ['PATH']}", "PGHOST": pg.server.host,
                   "PGPORT": str(pg.server.port), "PGUSER": pg.server.user, "PGPASSWORD": pg.server.password,
                   "PGDATABASE": "postgres", "ACCORD_DB_PASSWORD": password}
            return subprocess.run(script, env=env, capture_output=True, text=True, timeout=60, check=False)

        def accords_url(password: str) -> str:
            url = urlsplit(_resolve(SERVICES["worker"]["environment"]["ACCORD_DATABASE_URL"],
                                    {**FILLED_IN, "ACCORD_DB_PASSWORD": password}))
            return url._replace(netloc=f"{url.username}:{url.password}@{pg.server.host}:{pg.server.port}").geturl()

        first = init(FILLED_IN["ACCORD_DB_PASSWORD"])
        assert first.returncode == 0, first.stderr
        applied = await migrations.apply(accords_url(FILLED_IN["ACCORD_DB_PASSWORD"]))
        assert [m.version for m in applied] == [m.version for m in migrations.MIGRATIONS]

        rotated = "r" * 32
        again = init(rotated)  # the next `docker compose up`, after the password changed in .env
        assert again.returncode == 0 and again.stderr == "", again.stderr
        assert await migrations.apply(accords_url(rotated)) == []  # same database, schema kept
        import psycopg

        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            await psycopg.AsyncConnection.connect(accords_url(FILLED_IN["ACCORD_DB_PASSWORD"]))
        async with await psycopg.AsyncConnection.connect(accords_url(rotated), autocommit=True) as conn:
            row = await (await conn.execute("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles "
                                            "WHERE rolname = current_user")).fetchone()
            assert row == (False, False, False)  # Accord's user owns its database, and nothing more
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                await conn.execute("CREATE DATABASE other")


def test_the_web_app_is_behind_sign_in_through_the_identity_provider(monkeypatch):
    for name in [n for n in os.environ if n.startswith("ACCORD_")]:
        monkeypatch.delenv(name)
    for name, value in env_of("web").items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.oidc_enabled and oidc.problem(settings) is None
    assert settings.oidc_roles == {"accord-ops": "ops", "staff": "viewer"}
    assert settings.oidc_client_secret.get_secret_value() == FILLED_IN["ACCORD_OIDC_CLIENT_SECRET"]
    # In production the base URL is https (required there by sign-in); localhost may use http.
    https = settings.model_copy(update={"web_base_url": "https://accord.example.org"})
    plain = settings.model_copy(update={"web_base_url": "http://accord.example.org"})
    assert oidc.problem(https) is None and "https" in oidc.problem(plain)
    # The worker needs none of it: sign-in is the web app's.
    assert not any(name.startswith("ACCORD_OIDC_") for name in env_of("worker"))
