"""Running Accord (README "Deployment"): the processes (`up`, `worker`, `web`), `setup`,
`config check`, `signin-link` and `apikey create`."""

from __future__ import annotations

import asyncio
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from accord.cli.connection import FROM_ENVIRONMENT, Connection, connected
from accord.cli.definitions import load_or_exit
from accord.cli.output import FAILED, err, fail, out, run, say
from accord.config import Settings
from accord.ops.process_exit import exit_process

# ---------------------------------------------------------------- processes


@connected
def worker(conn: Connection = FROM_ENVIRONMENT) -> None:
    """Run a worker (workflows + activities) against Temporal."""
    import worker as accord_worker

    accord_worker.main(conn.settings)


@connected
def web(conn: Connection = FROM_ENVIRONMENT) -> None:
    """Run the web app (action links, outbox, dashboard)."""
    from accord.config import ConfigError
    from accord.ops.telemetry import configure_logging
    from accord.web.server import serve

    settings = conn.settings
    configure_logging(settings)  # text or JSON (ACCORD_LOG_FORMAT), access log included
    code = 0
    try:
        asyncio.run(serve(settings, log_config=None))
    except KeyboardInterrupt:
        pass
    except ConfigError as exc:  # e.g. a missing, short or published signing key
        say(f"error: {exc}", err)
        code = FAILED
    exit_process(code)


def up(definition: Annotated[Path, typer.Option(help="The sample partnership to start.")] = Path(
           "definitions/samples/public-sector-it-modernisation.yaml"),
       ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
       port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233) -> None:
    """Run everything locally: Temporal dev server + UI, worker, web app, and a sample partnership."""
    from accord.config import ConfigError
    from accord.embedded import run_embedded

    loaded = load_or_exit(definition)
    try:
        asyncio.run(run_embedded(Settings(), loaded, port=port, ui_port=ui_port, console=out))
    except KeyboardInterrupt:
        pass
    except ConfigError as exc:  # e.g. a short or published signing key
        say(f"error: {exc}", err)
        exit_process(FAILED)
    out.print("stopped.")
    exit_process(0)


def signin_link() -> None:
    """A new one-time sign-in link for the web app: ops, once, within ten minutes, from this machine."""
    from accord.web.auth.local import new_link

    out.print(asyncio.run(new_link(Settings())), markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- configuration and setup

config_app = typer.Typer(help="Accord's configuration: ACCORD_* variables and the ACCORD_CONFIG file.", no_args_is_help=True)


@config_app.command("check")
@connected
def config_check(
    connect: Annotated[bool, typer.Option("--connect", help="Also connect to Temporal (namespace, search attributes) "
                                                            "and to the database (schema current).")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML/YAML file [env ACCORD_CONFIG].")] = None,
    conn: Connection = FROM_ENVIRONMENT,
) -> None:
    """Print the effective configuration (secrets masked) and every problem; exit 1 on errors."""
    import os

    from accord.client import connect as connect_client
    from accord.ops import config_check as cc

    if config is not None:
        os.environ[cc.CONFIG_ENV] = str(config)
    # Not conn.settings: a configuration that does not load is what this command reports.
    overrides = {k: v for k, v in (("temporal_address", conn.address), ("temporal_namespace", conn.namespace)) if v}
    settings, findings = cc.load(**overrides)
    if settings is not None:
        table = Table("setting", "value", "from", title="Effective configuration")
        for row in cc.effective(settings, overrides):
            table.add_row(row.setting, row.value, row.source)
        out.print(table, markup=False)
        findings = cc.check(settings)
        if connect and not any(f.level == "error" and f.setting.startswith("temporal_") for f in findings):
            findings += asyncio.run(cc.check_server(settings, connect_client))
            if not any(f.setting.startswith("temporal_") for f in findings):
                say(f"connected to {settings.temporal_address}, namespace {settings.temporal_namespace}: "
                    "search attributes registered")
        if connect:
            database, problems = asyncio.run(cc.check_database(settings))
            findings += problems
            if database:
                say(database)
    for finding in findings:
        say(str(finding), err if finding.level == "error" else out)
    errors = sum(f.level == "error" for f in findings)
    if errors:
        fail(f"{errors} problem(s) found")
    say("ok: the configuration has no errors" + (f" ({len(findings)} warning(s))" if findings else ""))


@connected
def setup(wait: Annotated[float, typer.Option(help="Seconds to wait for the servers to come up.")] = 0,
          conn: Connection = FROM_ENVIRONMENT,
          import_from: Annotated[Path | None, typer.Option(
              "--import-from", help="A data folder (an old .accord/) whose send ledger, provider events and "
                                    "documents move into PostgreSQL; safe to repeat.")] = None) -> None:
    """Prepare Accord: apply the PostgreSQL schema (with ACCORD_DATABASE_URL), register the
    namespace's search attributes. Idempotent."""
    from accord import search_attributes as sa

    settings = conn.settings
    _setup_storage(settings, wait, import_from)

    async def go() -> str:
        import time

        from temporalio.service import RPCError

        from accord.client import connect

        deadline = time.monotonic() + wait
        while True:
            try:
                client = await connect(settings)
                break
            except RuntimeError:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(2)
        while True:
            try:
                await sa.ensure_registered(client, settings.temporal_namespace)
                break
            except RPCError as exc:  # the namespace may still be being created
                if time.monotonic() >= deadline:
                    raise
                err.print(f"waiting: {exc.message}", markup=False)
                await asyncio.sleep(2)
        import worker as accord_worker

        return await accord_worker.ensure_watchdog(client, settings)

    watchdog = run(go)
    say(f"search attributes registered in {settings.temporal_namespace}: {', '.join(k.name for k in sa.ALL)}")
    say(f"watchdog running: {watchdog} (tells ops of stuck partnerships)")


def _setup_storage(settings: Settings, wait: float, import_from: Path | None) -> None:
    """`accord setup`'s first half: Accord's own state (accord/storage/)."""
    from accord.storage import describe_storage

    if settings.database_url is None or not settings.database_url.get_secret_value().strip():
        if import_from is not None:
            fail("error: --import-from moves a data folder into PostgreSQL: set ACCORD_DATABASE_URL first")
        say(f"Accord's state: {describe_storage(settings)} (nothing to set up)")
        return
    url = settings.database_url.get_secret_value()

    async def go() -> tuple[list, Any]:
        from accord.storage import migrations
        from accord.storage.importer import import_folder
        from accord.storage.postgres import PostgresStorage

        applied = await migrations.apply(url, wait=wait)
        if import_from is None:
            return applied, None
        async with await PostgresStorage.open(url) as store:
            return applied, await import_folder(import_from, store)

    applied, report = run(go)
    done = ", ".join(f"{m.version} ({m.description})" for m in applied)
    say(f"Accord's state: {describe_storage(settings)}: schema "
        + (f"migrated: {done}" if applied else "already current"))
    if report is not None:
        say(f"imported {import_from}: {report.summary()}")
        for reason in report.skipped:
            say(f"skipped: {reason}", err)


# ---------------------------------------------------------------- API keys

apikey_app = typer.Typer(help="HTTP API keys (stored hashed in ACCORD_API_KEYS).", no_args_is_help=True)


class Role(StrEnum):
    ops = "ops"
    viewer = "viewer"


@apikey_app.command("create")
def apikey_create(name: Annotated[str, typer.Argument(help="Who uses it (recorded as the actor where possible).")],
                  role: Annotated[Role, typer.Option(help="ops may act; viewer may only read.")] = Role.viewer) -> None:
    """Make a new API key: print it once, and the hashed entry to add to ACCORD_API_KEYS."""
    from pydantic import ValidationError

    from accord import apikeys

    try:
        key, entry = apikeys.create(name, role.value)
    except ValidationError:
        fail(f"error: {name!r} is not a usable key name (letters, digits, and _ . @ - after the first)")
    err.print(f"API key for {entry.name} (role {entry.role}); it is shown only this once:", markup=False)
    print(key)
    err.print("Add this entry to ACCORD_API_KEYS (a JSON list of entries) where the web app runs:", markup=False)
    err.print(entry.model_dump_json(), markup=False, highlight=False, soft_wrap=True)
