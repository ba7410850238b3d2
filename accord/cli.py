"""The `accord` command: validate definitions, run the stack, start and inspect partnerships.

Every command that talks to Temporal takes --address/--namespace (or ACCORD_TEMPORAL_ADDRESS
/ ACCORD_TEMPORAL_NAMESPACE) and defaults to the embedded local server.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Column, Table

from accord.config import Settings
from accord.models import (
    Acknowledge,
    AlignmentOverride,
    CareEntry,
    Channel,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    EscalationRequest,
    MouRevision,
    Resolve,
    StatementSubmission,
    TaskCompletion,
    Withdraw,
)

app = typer.Typer(
    help="Accord: partnership governance as code, on Temporal.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output (scripts, CI logs) gets a wide virtual terminal so tables are not squeezed.
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")

Address = Annotated[str | None, typer.Option("--address", help="Temporal host:port [env ACCORD_TEMPORAL_ADDRESS]")]
Namespace = Annotated[str | None, typer.Option("--namespace", help="Temporal namespace [env ACCORD_TEMPORAL_NAMESPACE]")]


def _settings(address: str | None = None, namespace: str | None = None) -> Settings:
    overrides: dict[str, Any] = {}
    if address:
        overrides["temporal_address"] = address
    if namespace:
        overrides["temporal_namespace"] = namespace
    return Settings(**overrides)


def _run(coro_fn: Callable[[], Awaitable[T]]) -> T:
    """Run a client call; turn the errors people meet into one clear line and exit 1."""
    from temporalio.client import WorkflowQueryFailedError
    from temporalio.exceptions import WorkflowAlreadyStartedError
    from temporalio.service import RPCError

    from accord.client import ActionRefused

    try:
        return asyncio.run(coro_fn())
    except ActionRefused as exc:
        message = f"refused: {exc.message}"
    except WorkflowAlreadyStartedError as exc:
        message = f"error: {exc.workflow_id} is already running"
    except RPCError as exc:
        message = f"Temporal said: {exc.message}"
    except WorkflowQueryFailedError as exc:
        message = f"error: the workflow could not answer: {exc.message}"
    except RuntimeError as exc:  # the SDK raises RuntimeError when it cannot connect
        message = f"error: {exc}"
    err.print(message, markup=False, highlight=False)
    raise typer.Exit(1)


def _workflow_id(ident: str) -> str:
    from accord.client import workflow_id_for

    return ident if ident.startswith("partnership-") else workflow_id_for(ident)


# ---------------------------------------------------------------- definitions


@app.command()
def validate(files: Annotated[list[Path], typer.Argument(help="Definition files or folders.")]) -> None:
    """Check definition files; print every problem as file:line: field.path: message."""
    from definitions.loader import validate_files

    issues = validate_files(files)
    for issue in issues:
        out.print(str(issue), markup=False, highlight=False, soft_wrap=True)
    if issues:
        err.print(f"{len(issues)} problem(s) found")
        raise typer.Exit(1)
    err.print("ok: no problems found")


@app.command()
def schema(output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None) -> None:
    """Print the JSON Schema of a definition file (for editors: yaml-language-server)."""
    from definitions.schema import PartnershipDefinition

    text = json.dumps(PartnershipDefinition.model_json_schema(), indent=2)
    if output:
        output.write_text(text + "\n")
        err.print(f"wrote {output}")
    else:
        print(text)


def _load_or_exit(file: Path):
    from definitions.loader import DefinitionError, load

    try:
        return load(file)
    except DefinitionError as exc:
        for issue in exc.issues:
            err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


# ---------------------------------------------------------------- partnerships


@app.command()
def start(file: Path, address: Address = None, namespace: Namespace = None) -> None:
    """Start a partnership's lifecycle workflow from its definition file."""
    definition = _load_or_exit(file)
    settings = _settings(address, namespace)

    async def go() -> str:
        from accord.client import Accord

        return await (await Accord.connect(settings)).start(definition)

    workflow_id = _run(go)
    out.print(f"started [bold]{workflow_id}[/bold]")
    out.print(f"Temporal UI: {settings.workflow_ui_url(workflow_id)}")


@app.command()
def status(ident: Annotated[str, typer.Argument(help="Workflow id or partnership id.")], address: Address = None,
           namespace: Namespace = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show a partnership's stage, open tasks, approvals and escalations."""
    settings = _settings(address, namespace)
    workflow_id = _workflow_id(ident)

    async def go():
        from accord.client import Accord

        return await (await Accord.connect(settings)).state(workflow_id)

    state = _run(go)
    if as_json:
        print(state.model_dump_json(indent=2))
        return
    out.print(f"[bold]{state.name}[/bold]  ({workflow_id})")
    out.print(f"stage: [cyan]{state.stage.value}[/cyan]   status: {state.health.value}")
    if state.detail:
        out.print(state.detail, markup=False)
    tasks = Table("task", "owner", "due (UTC)", "status", title="Tasks")
    for t in sorted(state.tasks.values(), key=lambda t: t.due_at):
        flag = " OVERDUE" if t.is_open and t.overdue else ""
        tasks.add_row(t.title, t.owner, f"{t.due_at:%Y-%m-%d %H:%M}", t.status.value + flag)
    out.print(tasks)
    for a in state.approvals.values():
        out.print(f"approval [bold]{a.title}[/bold] (round {a.round}, {a.policy}): {a.outcome.value}, deadline {a.deadline_at:%Y-%m-%d %H:%M}")
        for d in a.decisions:
            out.print(f"  - {d.actor}: {d.decision.value} {d.comment}", markup=False)
    for e in state.escalations:
        out.print(f"escalation {e.id} ({e.status}) level {e.level}: {e.trigger}: {e.reason}", markup=False)
    out.print(f"Temporal UI: {settings.workflow_ui_url(workflow_id)}")


@app.command("list")
def list_(stage: Annotated[str | None, typer.Option(help="Only this stage, e.g. screening.")] = None,
          address: Address = None, namespace: Namespace = None,
          as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """List partnerships (filter by stage with --stage)."""
    settings = _settings(address, namespace)

    async def go():
        from accord.client import Accord

        return await (await Accord.connect(settings)).list(stage=stage)

    rows = _run(go)
    if as_json:
        for r in rows:
            print(json.dumps({**r.__dict__, "next_deadline": r.next_deadline.isoformat() if r.next_deadline else None}))
        return
    table = Table("partnership", "stage", "status", "next deadline (UTC)", "running")
    # Ids are what people copy into the next command: never wrap or cut them.
    table.columns.insert(0, Column("workflow id", no_wrap=True, min_width=max((len(r.workflow_id) for r in rows), default=11)))
    for r in rows:
        table.add_row(r.workflow_id, r.name, r.stage, r.status,
                      f"{r.next_deadline:%Y-%m-%d %H:%M}" if r.next_deadline else "-", "yes" if r.running else "no")
    out.print(table)


def _act(ident: str, address: str | None, namespace: str | None, method: str, payload: Any) -> None:
    settings = _settings(address, namespace)

    async def go():
        from accord.client import Accord

        accord = await Accord.connect(settings)
        return await getattr(accord, method)(_workflow_id(ident), payload)

    result = _run(go)
    out.print(result.message)


@app.command()
def complete(ident: str, task: str, as_: Annotated[str, typer.Option("--as", help="Stakeholder id acting.")],
             result: Annotated[str, typer.Option(help="Outcome or notes.")] = "",
             address: Address = None, namespace: Namespace = None) -> None:
    """Mark a task done on behalf of someone (ops)."""
    _act(ident, address, namespace, "complete_task", TaskCompletion(task_id=task, actor=as_, result=result, channel=Channel.cli))


@app.command()
def statement(ident: str, text: str, as_: Annotated[str, typer.Option("--as", help="Stakeholder id.")],
              address: Address = None, namespace: Namespace = None) -> None:
    """Record a stakeholder's goal-alignment statement."""
    _act(ident, address, namespace, "submit_statement", StatementSubmission(stakeholder=as_, text=text, channel=Channel.cli))


@app.command()
def decide(ident: str, approval: str, decision: DecisionKind,
           as_: Annotated[str, typer.Option("--as", help="Approver's stakeholder id.")],
           comment: Annotated[str, typer.Option(help="Reason (required to reject or request changes).")] = "",
           address: Address = None, namespace: Namespace = None) -> None:
    """Record an approver's decision (approve, reject, request_changes)."""
    _act(ident, address, namespace, "decide",
         DecisionInput(approval_id=approval, actor=as_, decision=decision, comment=comment, channel=Channel.cli))


@app.command()
def override(ident: str, as_: Annotated[str, typer.Option("--as")], reason: Annotated[str, typer.Option()],
             address: Address = None, namespace: Namespace = None) -> None:
    """Let screening proceed despite diverging goal statements (approvers only, with a reason)."""
    _act(ident, address, namespace, "override_alignment", AlignmentOverride(actor=as_, reason=reason, channel=Channel.cli))


class Severity(StrEnum):
    low = "low"
    normal = "normal"
    high = "high"
    critical = "critical"


@app.command()
def escalate(ident: str, reason: Annotated[str, typer.Option(help="What is wrong (shown to every level).")],
             level: Annotated[int, typer.Option(help="Ladder level (1-based) it starts at.")] = 1,
             severity: Annotated[Severity, typer.Option()] = Severity.normal,
             subject: Annotated[str, typer.Option(help="What it is about (a task, an approval...).")] = "partnership",
             by: Annotated[str, typer.Option("--by", help="Who raises it.")] = "ops",
             address: Address = None, namespace: Namespace = None) -> None:
    """Raise an escalation on a partnership: it runs as its own workflow, a child of the partnership."""
    settings = _settings(address, namespace)
    request = EscalationRequest(reason=reason, level=level, severity=severity.value, subject=subject, raised_by=by,
                                channel=Channel.cli)

    async def go():
        from accord.client import Accord

        return await (await Accord.connect(settings)).raise_escalation(_workflow_id(ident), request)

    result, record = _run(go)
    out.print(result.message, markup=False)
    if record.workflow_id:
        out.print(f"escalation [bold]{record.id}[/bold]: workflow {record.workflow_id}")
        out.print(f"Temporal UI: {settings.workflow_ui_url(record.workflow_id)}")


@app.command()
def delegate(ident: str, approval: str, to: Annotated[str, typer.Option("--to", help="Delegate's stakeholder id.")],
             as_: Annotated[str, typer.Option("--as", help="Approver's stakeholder id.")],
             reason: Annotated[str, typer.Option()], address: Address = None, namespace: Namespace = None) -> None:
    """Hand an approver's decision to another stakeholder, with a reason (if the definition allows it)."""
    _act(ident, address, namespace, "delegate",
         DelegationInput(approval_id=approval, actor=as_, to=to, reason=reason, channel=Channel.cli))


mou_app = typer.Typer(help="The MOU: show versions, compare them, upload or regenerate a revision.", no_args_is_help=True)
app.add_typer(mou_app, name="mou")


def _mou_text(settings: Settings, workflow_id: str, version: int) -> tuple[str, str]:
    """(hash, text) of one MOU version, read from the document store and checked against its hash."""
    from accord.documents.store import DocumentStore

    async def go():
        from accord.client import Accord

        return await (await Accord.connect(settings)).state(workflow_id)

    state = _run(go)
    found = next((v for v in state.mou.versions if v.version == version), None)
    if found is None:
        known = ", ".join(str(v.version) for v in state.mou.versions) or "none yet"
        err.print(f"error: no MOU version {version} (versions: {known})", markup=False)
        raise typer.Exit(1)
    try:
        return found.hash, DocumentStore(settings.documents_dir).get(found.hash)
    except (KeyError, ValueError) as exc:
        err.print(f"error: MOU version {version} cannot be read from {settings.documents_dir}: {exc}", markup=False)
        raise typer.Exit(1) from None


@mou_app.command("show")
def mou_show(ident: str, version: int, address: Address = None, namespace: Namespace = None) -> None:
    """Print one MOU version (Markdown) and its SHA-256."""
    settings = _settings(address, namespace)
    digest, text = _mou_text(settings, _workflow_id(ident), version)
    err.print(f"MOU version {version} sha256 {digest}", markup=False)
    print(text, end="")


@mou_app.command("diff")
def mou_diff(ident: str, v1: int, v2: int, address: Address = None, namespace: Namespace = None) -> None:
    """Show what changed between two MOU versions (unified diff)."""
    from accord.documents.mou import diff

    settings = _settings(address, namespace)
    workflow_id = _workflow_id(ident)
    h1, old = _mou_text(settings, workflow_id, v1)
    h2, new = _mou_text(settings, workflow_id, v2)
    print(diff(old, new, f"version {v1} ({h1[:12]})", f"version {v2} ({h2[:12]})") or "(no differences)", end="")


@mou_app.command("upload")
def mou_upload(ident: str, file: Path, note: Annotated[str, typer.Option(help="What changed.")] = "",
               by: Annotated[str, typer.Option("--by")] = "ops", address: Address = None, namespace: Namespace = None) -> None:
    """Upload a revised MOU (Markdown); a new signature round starts and old links stop working."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"error: cannot read {file}: {exc}", markup=False)
        raise typer.Exit(1) from None
    _act(ident, address, namespace, "revise_mou",
         MouRevision(actor=by, note=note or f"Uploaded {file.name}", markdown=text, channel=Channel.cli))


@mou_app.command("regenerate")
def mou_regenerate(ident: str, note: Annotated[str, typer.Option(help="Why.")] = "",
                   by: Annotated[str, typer.Option("--by")] = "ops", address: Address = None, namespace: Namespace = None) -> None:
    """Render a fresh MOU version from the definition; a new signature round starts."""
    _act(ident, address, namespace, "revise_mou",
         MouRevision(actor=by, note=note or "Regenerated from the definition", channel=Channel.cli))


escalation_app = typer.Typer(
    help="Escalations: show one, acknowledge it, record its CARE steps, resolve or withdraw it.", no_args_is_help=True)
app.add_typer(escalation_app, name="escalation")

AsWho = Annotated[str, typer.Option("--as", help="Stakeholder id acting, or ops.")]


def _on_escalation(ident: str, escalation: str, address: str | None, namespace: str | None, method: str,
                   payload: Any) -> None:
    settings = _settings(address, namespace)

    async def go():
        from accord.client import Accord

        accord = await Accord.connect(settings)
        return await getattr(accord, method)(_workflow_id(ident), escalation, payload)

    out.print(_run(go).message, markup=False)


@escalation_app.command("list")
def escalation_list(ident: str, address: Address = None, namespace: Namespace = None,
                    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False) -> None:
    """A partnership's escalations."""
    settings = _settings(address, namespace)

    async def go():
        from accord.client import Accord

        return await (await Accord.connect(settings)).escalations(_workflow_id(ident))

    rows = _run(go)
    if as_json:
        for r in rows:
            print(r.model_dump_json())
        return
    table = Table(Column("id", no_wrap=True), "status", "level", "trigger", "reason", "raised (UTC)", "by")
    for r in rows:
        table.add_row(r.id, r.status + (" (with ops)" if r.with_ops else ""), str(r.level), r.trigger, r.reason,
                      f"{r.opened_at:%Y-%m-%d %H:%M}", r.raised_by)
    out.print(table if rows else "no escalations")


@escalation_app.command("show")
def escalation_show(ident: str, escalation: Annotated[str, typer.Argument(help="Escalation id, e.g. esc-1.")],
                    address: Address = None, namespace: Namespace = None,
                    as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """An escalation's record: levels, acknowledgements, CARE steps, resolution."""
    settings = _settings(address, namespace)
    workflow_id = _workflow_id(ident)

    async def go():
        from accord.client import Accord

        accord = await Accord.connect(settings)
        target = await accord.escalation_workflow(workflow_id, escalation)
        return target, await accord.escalation_state(target)

    target, e = _run(go)
    if as_json:
        print(e.model_dump_json(indent=2))
        return
    plain = {"markup": False, "highlight": False}
    out.print(f"[bold]Escalation {escape(e.id)}[/bold] on {escape(e.partnership)}  ({escape(target)})")
    out.print(f"status: {e.status.value}{' (with ops)' if e.with_ops else ''}   level: {e.level}   severity: {e.severity}", **plain)
    out.print(f"reason: {e.reason}", **plain)
    out.print(f"trigger: {e.trigger} (about {e.subject}); raised {e.opened_at:%Y-%m-%d %H:%M} UTC by {e.raised_by} "
              f"via {e.channel.value}", **plain)
    levels = Table("when (UTC)", "level", "contacts", "cause", title="Levels")
    for c in e.levels:
        levels.add_row(f"{c.at:%Y-%m-%d %H:%M}", c.name + (f" ({c.level})" if c.level else ""), ", ".join(c.contacts), c.cause)
    out.print(levels)
    for a in e.acknowledgements:
        out.print(f"acknowledged by {a.actor} at level {a.level}, {a.at:%Y-%m-%d %H:%M} UTC via {a.channel.value}"
                  + (f": {a.note}" if a.note else ""), **plain)
    care = Table("step", "text", "by", "when (UTC)", title="CARE")
    notes = [("clarify", e.care.clarify)] + [(f"acknowledge ({p})", n) for p, n in e.care.acknowledge.items()]
    notes += [("reframe", e.care.reframe), ("explore", e.care.explore)]
    for step, n in notes:
        care.add_row(step, n.text if n else "-", n.by if n else "", f"{n.at:%Y-%m-%d %H:%M}" if n else "")
    out.print(care)
    if e.status.is_final:
        out.print(f"{e.status.value} by {e.closed_by} on {e.closed_at:%Y-%m-%d %H:%M} UTC", **plain)
        if e.resolution:
            out.print(f"resolution: {e.resolution}", **plain)
        if e.proposed_amendment:
            out.print(f"proposed amendment: {len(e.proposed_amendment.splitlines())} lines of definition", **plain)
        if e.withdrawn_reason:
            out.print(f"reason: {e.withdrawn_reason}", **plain)
    out.print(f"Temporal UI: {settings.workflow_ui_url(target)}")


@escalation_app.command("ack")
def escalation_ack(ident: str, escalation: str, as_: AsWho = "ops",
                   note: Annotated[str, typer.Option(help="Optional note.")] = "",
                   address: Address = None, namespace: Namespace = None) -> None:
    """Acknowledge an escalation: it stops climbing the ladder."""
    _on_escalation(ident, escalation, address, namespace, "acknowledge", Acknowledge(actor=as_, note=note, channel=Channel.cli))


class Step(StrEnum):
    clarify = "clarify"
    acknowledge = "acknowledge"
    reframe = "reframe"
    explore = "explore"


@escalation_app.command("care")
def escalation_care(ident: str, escalation: str, step: Step, text: str, as_: AsWho = "ops",
                    party: Annotated[str | None, typer.Option(help="For acknowledge: whose perspective (party id).")] = None,
                    address: Address = None, namespace: Namespace = None) -> None:
    """Record a CARE step: clarify, acknowledge (a party's perspective), reframe, explore."""
    _on_escalation(ident, escalation, address, namespace, "record_care",
                   CareEntry(actor=as_, step=step.value, text=text, party=party, channel=Channel.cli))


@escalation_app.command("resolve")
def escalation_resolve(ident: str, escalation: str, resolution: Annotated[str, typer.Option(help="How it was resolved.")],
                       as_: AsWho = "ops",
                       amendment: Annotated[Path | None, typer.Option(
                           help="A proposed amendment: the full amended definition (YAML); checked like `accord validate`.")] = None,
                       address: Address = None, namespace: Namespace = None) -> None:
    """Resolve an escalation (after its CARE steps), optionally proposing an amended definition."""
    from accord import amendment as amendments
    from accord.client import partnership_id_of

    text = None
    if amendment is not None:
        try:
            text = amendment.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            err.print(f"error: cannot read {amendment}: {exc}", markup=False)
            raise typer.Exit(1) from None
        issues = amendments.problems(text, partnership_id_of(_workflow_id(ident)), file=str(amendment))
        for issue in issues:
            err.print(str(issue), markup=False, highlight=False, soft_wrap=True)
        if issues:
            err.print(f"{len(issues)} problem(s) in the amendment; nothing was sent")
            raise typer.Exit(1)
    _on_escalation(ident, escalation, address, namespace, "resolve",
                   Resolve(actor=as_, resolution=resolution, amendment=text, channel=Channel.cli))


@escalation_app.command("withdraw")
def escalation_withdraw(ident: str, escalation: str, reason: Annotated[str, typer.Option(help="Why it is moot.")],
                        as_: AsWho = "ops", address: Address = None, namespace: Namespace = None) -> None:
    """Withdraw an escalation, with a reason."""
    _on_escalation(ident, escalation, address, namespace, "withdraw", Withdraw(actor=as_, reason=reason, channel=Channel.cli))


# ---------------------------------------------------------------- API keys

apikey_app = typer.Typer(help="HTTP API keys (stored hashed in ACCORD_API_KEYS).", no_args_is_help=True)
app.add_typer(apikey_app, name="apikey")


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
        err.print(f"error: {name!r} is not a usable key name (letters, digits, and _ . @ - after the first)", markup=False)
        raise typer.Exit(1) from None
    err.print(f"API key for {entry.name} (role {entry.role}); it is shown only this once:", markup=False)
    print(key)
    err.print("Add this entry to ACCORD_API_KEYS (a JSON list of entries) where the web app runs:", markup=False)
    err.print(entry.model_dump_json(), markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- processes


@app.command()
def worker(address: Address = None, namespace: Namespace = None) -> None:
    """Run a worker (workflows + activities) against Temporal."""
    import worker as accord_worker

    accord_worker.configure_logging()
    try:
        asyncio.run(accord_worker.run(_settings(address, namespace)))
    except KeyboardInterrupt:
        pass


@app.command()
def web(address: Address = None, namespace: Namespace = None) -> None:
    """Run the web app (action links, outbox, dashboard)."""
    from accord.web.server import serve

    try:
        asyncio.run(serve(_settings(address, namespace)))
    except KeyboardInterrupt:
        pass


@app.command()
def up(definition: Annotated[Path, typer.Option(help="The sample partnership to start.")] = Path(
           "definitions/samples/public-sector-it-modernisation.yaml"),
       ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
       port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233) -> None:
    """Run everything locally: Temporal dev server + UI, worker, web app, and a sample partnership."""
    from accord.embedded import run_embedded

    loaded = _load_or_exit(definition)
    try:
        asyncio.run(run_embedded(Settings(), loaded, port=port, ui_port=ui_port, console=out))
    except KeyboardInterrupt:
        pass
    out.print("stopped.")


if __name__ == "__main__":
    app()
