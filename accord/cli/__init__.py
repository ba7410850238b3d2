"""The `accord` command: validate definitions, run the stack, start and inspect partnerships.

Every command that talks to Temporal takes --address/--namespace (or ACCORD_TEMPORAL_ADDRESS
/ ACCORD_TEMPORAL_NAMESPACE) and defaults to the embedded local server.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
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
    ActionInput,
    AlignmentOverride,
    AmendmentProposal,
    CareEntry,
    CareStep,
    Channel,
    CloseRequest,
    DecisionInput,
    DecisionKind,
    DelegationInput,
    EscalationRequest,
    MetricObservationInput,
    MouRevision,
    Rag,
    Resolve,
    ReviewInputSubmission,
    ReviewOutcome,
    Severity,
    StatementSubmission,
    TaskCompletion,
    Withdraw,
)
from accord.ops.process_exit import exit_process

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
def validate(
    # readable=False: the loader reports an unreadable file like any other problem (file:line: ...).
    files: Annotated[list[Path], typer.Argument(help="Definition files or folders.", readable=False)],
) -> None:
    """Check definition files; print every problem as file:line: field.path: message."""
    from definitions.loader import validate_files

    issues = validate_files(files, **_definition_checks())
    for issue in issues:
        out.print(_one_line(str(issue)), markup=False, highlight=False, soft_wrap=True)
    if issues:
        err.print(f"{len(issues)} problem(s) found")
        raise typer.Exit(1)
    err.print("ok: no problems found")


# Control characters, bidi overrides and lone surrogates in a file name, a key or a value quoted in
# a message: shown escaped, so each problem stays one line and nothing in it acts on the terminal.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _one_line(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


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


def _definition_checks() -> dict[str, Any]:
    """The deployment's checks for a definition (minimum durations, MOU template folders)."""
    from pydantic import ValidationError

    from accord.config import ConfigError

    try:
        return Settings().definition_checks()
    except (ValidationError, ConfigError) as exc:
        err.print(f"error: the configuration is not valid ({type(exc).__name__}); see `accord config check`",
                  markup=False, highlight=False)
        raise typer.Exit(1) from None


def _load_or_exit(file: Path):
    from definitions.loader import DefinitionError, load

    try:
        return load(file, **_definition_checks(), all_problems=True)
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

        accord = await Accord.connect(settings)
        rows = await accord.list(stage=stage)
        return rows, await accord.stuck(rows)

    rows, stuck_by_id = _run(go)
    if as_json:
        for r in rows:
            p = stuck_by_id.get(r.workflow_id)
            print(json.dumps({**r.__dict__, "next_deadline": r.next_deadline.isoformat() if r.next_deadline else None,
                              "stuck": {"kind": p.kind.value, "since": p.since.isoformat(), "message": p.message}
                              if p else None}))
        return
    table = Table("partnership", "stage", "status", "next deadline (UTC)", "running")
    # Ids are what people copy into the next command: never wrap or cut them.
    table.columns.insert(0, Column("workflow id", no_wrap=True, min_width=max((len(r.workflow_id) for r in rows), default=11)))
    for r in rows:
        p = stuck_by_id.get(r.workflow_id)
        running = f"STUCK ({p.kind.value} since {p.since:%Y-%m-%d %H:%M})" if p else "yes" if r.running else "no"
        table.add_row(r.workflow_id, r.name, r.stage, r.status,
                      f"{r.next_deadline:%Y-%m-%d %H:%M}" if r.next_deadline else "-", running)
    out.print(table)
    if stuck_by_id:
        err.print(f"{len(stuck_by_id)} stuck: see `accord doctor`", markup=False)


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


@app.command()
def escalate(ident: str, reason: Annotated[str, typer.Option(help="What is wrong (shown to every level).")],
             level: Annotated[int, typer.Option(help="Ladder level (1-based) it starts at.")] = 1,
             severity: Annotated[Severity, typer.Option()] = Severity.normal,
             subject: Annotated[str, typer.Option(help="What it is about (a task, an approval...).")] = "partnership",
             by: Annotated[str, typer.Option("--by", help="Who raises it.")] = "ops",
             address: Address = None, namespace: Namespace = None) -> None:
    """Raise an escalation on a partnership: it runs as its own workflow, a child of the partnership."""
    settings = _settings(address, namespace)
    request = EscalationRequest(reason=reason, level=level, severity=severity, subject=subject, raised_by=by,
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


@app.command()
def close(ident: str, as_: Annotated[str, typer.Option("--as", help="ops, or an MOU signatory.")],
          reason: Annotated[str, typer.Option()], address: Address = None, namespace: Namespace = None) -> None:
    """Close a launched partnership: open tasks are waived, escalations withdrawn, the audit export archived."""
    _act(ident, address, namespace, "close", CloseRequest(actor=as_, reason=reason, channel=Channel.cli))


@app.command()
def amend(ident: str, file: Annotated[Path, typer.Argument(help="The amended definition file.")],
          reason: Annotated[str, typer.Option(help="Why it changes.")],
          as_: Annotated[str, typer.Option("--as", help="Who proposes it.")] = "ops",
          yes: Annotated[bool, typer.Option("--yes", help="Propose without asking.")] = False,
          address: Address = None, namespace: Namespace = None) -> None:
    """Show how FILE differs from the definition in force, then send it to approval; it applies once approved."""
    from definitions import diff

    amended = _load_or_exit(file)
    settings = _settings(address, namespace)

    async def current():
        from accord.client import Accord

        return await (await Accord.connect(settings)).definition(_workflow_id(ident))

    changes = diff.changes(_run(current), amended)
    if not changes:
        err.print("Nothing to amend: the file is the same as the definition in force.")
        raise typer.Exit(1)
    out.print(f"{len(changes)} change(s):")
    for change in changes:
        out.print(f"  {change}", markup=False, highlight=False)
    if not yes and not typer.confirm("Send this amendment to approval?"):
        raise typer.Exit(1)
    _act(ident, address, namespace, "propose_amendment",
         AmendmentProposal(definition=amended, actor=as_, reason=reason, channel=Channel.cli))


metric_app = typer.Typer(help="Metrics: record observations (the first one before launch is the baseline).", no_args_is_help=True)
app.add_typer(metric_app, name="metric")


@metric_app.command("record")
def metric_record(ident: str, metric: str, value: float, as_: Annotated[str, typer.Option("--as", help="Who measured it.")],
                  note: Annotated[str, typer.Option()] = "", address: Address = None, namespace: Namespace = None) -> None:
    """Record a metric's value now."""
    _act(ident, address, namespace, "record_metric",
         MetricObservationInput(metric_id=metric, value=value, actor=as_, note=note, channel=Channel.cli))


review_app = typer.Typer(help="Reviews: list them, send an input on someone's behalf, record what a review decided.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")


@review_app.command("list")
def review_list(ident: str, address: Address = None, namespace: Namespace = None) -> None:
    """Every review: planned, open and closed, with its record in one line."""
    settings = _settings(address, namespace)

    async def go():
        from accord.client import Accord

        return await (await Accord.connect(settings)).state(_workflow_id(ident))

    state = _run(go)
    table = Table("Review", "When", "Inputs", Column("Record", overflow="fold"))
    for review in sorted(state.reviews.values(), key=lambda r: r.scheduled_for):
        if review.closed_at:
            record = ", ".join(filter(None, [
                review.overall.value if review.overall else "",
                f"missing {', '.join(review.missed)}" if review.missed else "",
                f"{sum(m.on_target for m in review.metrics)}/{len(review.metrics)} metrics on target" if review.metrics else "",
                review.balance.summary if review.balance else "",
            ])) or "closed"
        else:
            record = "open" if review.opened_at else "planned"
        table.add_row(review.id, f"{review.scheduled_for:%Y-%m-%d}", f"{len(review.inputs)}/{len(review.participants)}", record)
    out.print(table)


@review_app.command("input")
def review_input(ident: str, review: str, as_: Annotated[str, typer.Option("--as", help="The participant.")],
                 rag: Annotated[Rag | None, typer.Option(help="Weekly status.")] = None,
                 note: Annotated[str, typer.Option()] = "",
                 contribution: Annotated[float | None, typer.Option(help="Annual review: 1-10.")] = None,
                 benefit: Annotated[float | None, typer.Option(help="Annual review: 1-10.")] = None,
                 address: Address = None, namespace: Namespace = None) -> None:
    """Send a participant's input to an open review."""
    _act(ident, address, namespace, "submit_review_input", ReviewInputSubmission(
        review_id=review, stakeholder=as_, rag=rag, note=note, contribution=contribution, benefit=benefit, channel=Channel.cli))


def _action(text: str) -> ActionInput:
    title, _, rest = text.partition("@")
    owner, _, days = rest.partition(":")
    if not title.strip() or not owner.strip():
        raise typer.BadParameter(f"{text!r}: write an action as 'TITLE@OWNER' or 'TITLE@OWNER:DAYS'.")
    try:
        return ActionInput(title=title.strip(), owner=owner.strip(), due_in_days=int(days) if days else 14)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: DAYS must be a whole number from 1 to 366.") from None


@review_app.command("outcome")
def review_outcome(ident: str, review: str, as_: Annotated[str, typer.Option("--as", help="Who records it.")] = "ops",
                   decision: Annotated[list[str] | None, typer.Option("--decision", help="A decision (repeatable).")] = None,
                   action: Annotated[list[str] | None, typer.Option("--action", help="TITLE@OWNER[:DAYS] (repeatable).")] = None,
                   address: Address = None, namespace: Namespace = None) -> None:
    """Record a review's decisions and actions (actions become tasks, checked at the next review)."""
    _act(ident, address, namespace, "record_review_outcome", ReviewOutcome(
        review_id=review, actor=as_, decisions=decision or [], actions=[_action(a) for a in action or []], channel=Channel.cli))


mou_app = typer.Typer(help="The MOU: show versions, compare them, upload or regenerate a revision.", no_args_is_help=True)
app.add_typer(mou_app, name="mou")


def _mou_text(settings: Settings, workflow_id: str, version: int) -> tuple[str, str]:
    """(hash, text) of one MOU version, read from Accord's storage and checked against its hash."""
    from accord.storage import DocumentMissing, describe_storage, open_storage

    async def go() -> tuple[str, str] | str:
        from accord.client import Accord

        state = await (await Accord.connect(settings)).state(workflow_id)
        found = next((v for v in state.mou.versions if v.version == version), None)
        if found is None:
            known = ", ".join(str(v.version) for v in state.mou.versions) or "none yet"
            return f"error: no MOU version {version} (versions: {known})"
        try:
            async with await open_storage(settings) as store:
                return found.hash, await store.get_document(found.hash)
        except DocumentMissing:
            problem = f"no document is stored under its hash {found.hash}"
        except ValueError as exc:  # DocumentCorrupted
            problem = str(exc)
        return f"error: MOU version {version} cannot be read from {describe_storage(settings)}: {problem}"

    # StorageUnavailable and SchemaNotCurrent are RuntimeErrors: _run says them in one line.
    found = _run(go)
    if isinstance(found, str):
        err.print(found, markup=False, highlight=False)
        raise typer.Exit(1)
    return found


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


# ---------------------------------------------------------------- reports


@app.command()
def report(ident: Annotated[str, typer.Argument(help="Workflow id or partnership id.")],
           out_dir: Annotated[Path, typer.Option("--out", help="Folder to write to (created if missing).")] = Path("."),
           address: Address = None, namespace: Namespace = None) -> None:
    """Write the status report (HTML with charts) and the audit export (JSON) of a partnership."""
    from datetime import UTC, datetime

    from accord.reports.files import write_reports

    settings = _settings(address, namespace)
    workflow_id = _workflow_id(ident)

    async def go():
        from accord.client import Accord

        accord = await Accord.connect(settings)
        return await accord.definition(workflow_id), await accord.state(workflow_id)

    definition, state = _run(go)
    try:
        written = write_reports(definition, state, workflow_id, out_dir, datetime.now(UTC))
    except OSError as exc:
        err.print(f"error: cannot write to {out_dir}: {exc.strerror or exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
    out.print(f"report: {written.report}", markup=False, highlight=False)
    out.print(f"audit:  {written.audit}", markup=False, highlight=False)


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


@escalation_app.command("care")
def escalation_care(ident: str, escalation: str, step: CareStep, text: str, as_: AsWho = "ops",
                    party: Annotated[str | None, typer.Option(help="For acknowledge: whose perspective (party id).")] = None,
                    address: Address = None, namespace: Namespace = None) -> None:
    """Record a CARE step: clarify, acknowledge (a party's perspective), reframe, explore."""
    _on_escalation(ident, escalation, address, namespace, "record_care",
                   CareEntry(actor=as_, step=step, text=text, party=party, channel=Channel.cli))


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
    from accord.config import ConfigError

    settings = _settings(address, namespace)
    accord_worker.configure_logging(settings)
    code = 0
    try:
        asyncio.run(accord_worker.run(settings))
    except KeyboardInterrupt:
        pass
    except ConfigError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        code = 1
    exit_process(code)


@app.command()
def web(address: Address = None, namespace: Namespace = None) -> None:
    """Run the web app (action links, outbox, dashboard)."""
    from accord.config import ConfigError
    from accord.ops.telemetry import configure_logging
    from accord.web.server import serve

    settings = _settings(address, namespace)
    configure_logging(settings)  # text or JSON (ACCORD_LOG_FORMAT), access log included
    code = 0
    try:
        asyncio.run(serve(settings, log_config=None))
    except KeyboardInterrupt:
        pass
    except ConfigError as exc:  # e.g. a missing, short or published signing key
        err.print(f"error: {exc}", markup=False, highlight=False)
        code = 1
    exit_process(code)


@app.command()
def up(definition: Annotated[Path, typer.Option(help="The sample partnership to start.")] = Path(
           "definitions/samples/public-sector-it-modernisation.yaml"),
       ui_port: Annotated[int, typer.Option(help="Temporal Web UI port.")] = 8233,
       port: Annotated[int, typer.Option(help="Temporal frontend port.")] = 7233) -> None:
    """Run everything locally: Temporal dev server + UI, worker, web app, and a sample partnership."""
    from accord.config import ConfigError
    from accord.embedded import run_embedded

    loaded = _load_or_exit(definition)
    try:
        asyncio.run(run_embedded(Settings(), loaded, port=port, ui_port=ui_port, console=out))
    except KeyboardInterrupt:
        pass
    except ConfigError as exc:  # e.g. a short or published signing key
        err.print(f"error: {exc}", markup=False, highlight=False)
        exit_process(1)
    out.print("stopped.")
    exit_process(0)


@app.command("signin-link")
def signin_link() -> None:
    """A new one-time sign-in link for the web app: ops, once, within ten minutes, from this machine."""
    from accord.web.auth.local import new_link

    out.print(asyncio.run(new_link(Settings())), markup=False, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------- operations (README "Deployment")

config_app = typer.Typer(help="Accord's configuration: ACCORD_* variables and the ACCORD_CONFIG file.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check(
    connect: Annotated[bool, typer.Option("--connect", help="Also connect to Temporal (namespace, search attributes) "
                                                            "and to the database (schema current).")] = False,
    config: Annotated[Path | None, typer.Option("--config", help="A TOML/YAML file [env ACCORD_CONFIG].")] = None,
    address: Address = None, namespace: Namespace = None,
) -> None:
    """Print the effective configuration (secrets masked) and every problem; exit 1 on errors."""
    import os

    from accord.ops import config_check as cc

    if config is not None:
        os.environ[cc.CONFIG_ENV] = str(config)
    overrides = {k: v for k, v in (("temporal_address", address), ("temporal_namespace", namespace)) if v}
    settings, findings = cc.load(**overrides)
    if settings is not None:
        table = Table("setting", "value", "from", title="Effective configuration")
        for row in cc.effective(settings, overrides):
            table.add_row(row.setting, row.value, row.source)
        out.print(table, markup=False)
        findings = cc.check(settings)
        if connect and not any(f.level == "error" and f.setting.startswith("temporal_") for f in findings):
            findings += asyncio.run(cc.check_server(settings))
            if not any(f.setting.startswith("temporal_") for f in findings):
                out.print(f"connected to {settings.temporal_address}, namespace {settings.temporal_namespace}: "
                          "search attributes registered", markup=False, highlight=False)
        if connect:
            database, problems = asyncio.run(cc.check_database(settings))
            findings += problems
            if database:
                out.print(database, markup=False, highlight=False)
    for finding in findings:
        (err if finding.level == "error" else out).print(str(finding), markup=False, highlight=False)
    errors = sum(f.level == "error" for f in findings)
    if errors:
        err.print(f"{errors} problem(s) found", markup=False)
        raise typer.Exit(1)
    out.print("ok: the configuration has no errors" + (f" ({len(findings)} warning(s))" if findings else ""),
              markup=False, highlight=False)


@app.command()
def setup(wait: Annotated[float, typer.Option(help="Seconds to wait for the servers to come up.")] = 0,
          address: Address = None, namespace: Namespace = None,
          import_from: Annotated[Path | None, typer.Option(
              "--import-from", help="A data folder (an old .accord/) whose send ledger, provider events and "
                                    "documents move into PostgreSQL; safe to repeat.")] = None) -> None:
    """Prepare Accord: apply the PostgreSQL schema (with ACCORD_DATABASE_URL), register the
    namespace's search attributes. Idempotent."""
    settings = _settings(address, namespace)
    _setup_storage(settings, wait, import_from)

    async def go() -> None:
        import time

        from accord import search_attributes as sa
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
            except RPCError_() as exc:  # the namespace may still be being created
                if time.monotonic() >= deadline:
                    raise
                err.print(f"waiting: {exc.message}", markup=False)
                await asyncio.sleep(2)
        import worker as accord_worker

        return await accord_worker.ensure_watchdog(client, settings)

    watchdog = _run(go)
    from accord import search_attributes as sa

    out.print(f"search attributes registered in {settings.temporal_namespace}: {', '.join(k.name for k in sa.ALL)}",
              markup=False, highlight=False)
    out.print(f"watchdog running: {watchdog} (tells ops of stuck partnerships)", markup=False, highlight=False)


@app.command()
def watch(ident: Annotated[str, typer.Argument(help="Workflow id or partnership id.")],
          interval: Annotated[float, typer.Option(help="Seconds between refreshes.")] = 2.0,
          until: Annotated[str | None, typer.Option(help="Stop once the partnership reaches this stage, e.g. mou.")] = None,
          once: Annotated[bool, typer.Option("--once", help="Show the current state once and exit.")] = False,
          timeout: Annotated[float | None, typer.Option(help="Stop after this many seconds (exit 2 if --until was not reached).")] = None,
          address: Address = None, namespace: Namespace = None) -> None:
    """Follow a partnership live: stage, tasks, approvals, deadlines, escalations (Ctrl-C to stop)."""
    from accord.models import Stage
    from accord.ops.watch import watch as follow

    if until is not None and until not in {s.value for s in Stage}:
        err.print(f"error: --until {until!r} is not a stage ({', '.join(s.value for s in Stage)})", markup=False)
        raise typer.Exit(2)
    settings = _settings(address, namespace)
    workflow_id = _workflow_id(ident)

    async def go():
        from accord.client import Accord

        accord = await Accord.connect(settings)
        return await follow(accord, workflow_id, out, interval=interval, until=until, once=once, timeout=timeout)

    try:
        outcome = _run(go)
    except KeyboardInterrupt:
        return
    if outcome.reason == "timeout" and until is not None:
        err.print(f"timed out before stage {until}", markup=False)
        raise typer.Exit(2)


@app.command()
def diagram(file: Path) -> None:
    """Print the lifecycle a definition implies as a Mermaid flowchart."""
    from accord.ops.diagram import mermaid

    print(mermaid(_load_or_exit(file)), end="")


def _setup_storage(settings: Settings, wait: float, import_from: Path | None) -> None:
    """`accord setup`'s first half: Accord's own state (accord/storage/)."""
    from accord.storage import describe_storage

    if settings.database_url is None or not settings.database_url.get_secret_value().strip():
        if import_from is not None:
            err.print("error: --import-from moves a data folder into PostgreSQL: set ACCORD_DATABASE_URL first",
                      markup=False)
            raise typer.Exit(1)
        out.print(f"Accord's state: {describe_storage(settings)} (nothing to set up)", markup=False, highlight=False)
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

    applied, report = _run(go)
    done = ", ".join(f"{m.version} ({m.description})" for m in applied)
    out.print(f"Accord's state: {describe_storage(settings)}: schema "
              + (f"migrated: {done}" if applied else "already current"), markup=False, highlight=False)
    if report is not None:
        out.print(f"imported {import_from}: {report.summary()}", markup=False, highlight=False)
        for reason in report.skipped:
            err.print(f"skipped: {reason}", markup=False, highlight=False)


@app.command()
def doctor(ident: Annotated[str | None, typer.Argument(help="Only this partnership (workflow id or partnership id).")] = None,
           fix: Annotated[bool, typer.Option("--fix", help="Reset the runs stopped by the SDK's replay bug (asks first).")] = False,
           yes: Annotated[bool, typer.Option("--yes", help="With --fix: do not ask.")] = False,
           as_json: Annotated[bool, typer.Option("--json", help="One JSON object per stuck partnership.")] = False,
           address: Address = None, namespace: Namespace = None) -> None:
    """Find stuck partnerships and explain each; with --fix, reset those the SDK's replay bug stopped.

    Exit status: 0 when nothing is stuck (or everything found was reset), 1 when something stuck is left."""
    from accord.ops import doctor as dr
    from accord.ops import stuck

    settings = _settings(address, namespace)
    plain = {"markup": False, "highlight": False}

    def explain(v: dr.Verdict) -> None:
        p = v.problem
        out.print(f"{p.workflow_id} (run {p.run_id}): STUCK, {p.kind.value}", **plain)
        out.print(f"  failing since {p.since:%Y-%m-%d %H:%M:%S} UTC, {p.attempts} attempts"
                  + (" (flagged by the server: TemporalReportedProblems)" if p.reported_by_server else ""), **plain)
        out.print(f"  failure: {p.message[:400]}", **plain)
        if p.last_good_event_id:
            out.print(f"  last good workflow task: completed at event {p.last_good_event_id}", **plain)
        out.print(f"  what it means: {p.kind.explanation}", **plain)
        out.print(("  a reset can recover it: " if v.resettable else "  not reset: ") + "; ".join(v.reasons), **plain)

    async def go() -> int:
        import worker as accord_worker
        from accord.client import connect

        client = await connect(settings)
        found = await stuck.find(client, workflow_ids=[_workflow_id(ident)] if ident else None,
                                 stuck_activity_after=timedelta(seconds=settings.stuck_activity_after),
                                 task_attempts=settings.stuck_task_attempts)
        verdicts = [await dr.check(client, p, accord_worker.WORKFLOWS) for p in found]
        if as_json:
            for v in verdicts:
                print(json.dumps({**v.problem.model_dump(mode="json", exclude={"ops"}), "resettable": v.resettable,
                                  "reasons": v.reasons}))
        else:
            for v in verdicts:
                explain(v)
            if not verdicts:
                out.print("no stuck partnerships", **plain)
        left = sum(not v.resettable for v in verdicts)
        fixable = [v.problem for v in verdicts if v.resettable]
        if fixable and not fix:
            err.print(f"{len(fixable)} can be reset: run `accord doctor --fix`", markup=False)
            return left + len(fixable)
        for p in fixable:
            if not yes and not typer.confirm(f"Reset {p.workflow_id} to event {p.reset_event_id}, re-applying the "
                                             "updates and signals received after it?"):
                out.print(f"{p.workflow_id}: left as it is", **plain)
                left += 1
                continue
            new_run = await dr.reset(client, p)
            out.print(f"{p.workflow_id}: reset to event {p.reset_event_id}; new run {new_run}", **plain)
        return left

    if _run(go):
        raise typer.Exit(1)


@app.command()
def recover(interval: Annotated[float, typer.Option(help="Seconds between looks.")] = 30.0,
            once: Annotated[bool, typer.Option("--once", help="Look once, then exit.")] = False,
            address: Address = None, namespace: Namespace = None) -> None:
    """Automatic recovery (opt-in; run ONE of these): reset runs stopped by the SDK's replay bug when every
    safety condition holds, at most recovery_max_resets_per_hour an hour; report everything else.
    Connects with the recovery_temporal_* credentials where set."""
    import signal

    import worker as accord_worker
    from accord.client import connect
    from accord.ops import doctor as dr
    from accord.ops import stuck
    from accord.ops.telemetry import configure_logging

    settings = _settings(address, namespace).for_recovery()
    configure_logging(settings)
    options = {"query": stuck.PARTNERSHIPS, "stuck_activity_after": timedelta(seconds=settings.stuck_activity_after),
               "task_attempts": settings.stuck_task_attempts}

    async def go() -> None:
        client = await connect(settings)
        if once:
            done = await dr.recover_once(client, accord_worker.WORKFLOWS, dr.RateLimit(settings.recovery_max_resets_per_hour),
                                         done=set(), **options)
            for p, run in done.reset:
                out.print(f"reset {p.workflow_id} to event {p.reset_event_id}: new run {run}", markup=False)
            for v in done.reported:
                out.print(f"left alone: {v.problem.workflow_id}: {v.problem.kind.value}: {'; '.join(v.reasons)}",
                          markup=False)
            return
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, stop.set)
        await dr.recover(client, accord_worker.WORKFLOWS, interval=interval,
                         per_hour=settings.recovery_max_resets_per_hour, stop=stop, **options)

    _run(go)


def RPCError_():
    from temporalio.service import RPCError

    return RPCError


if __name__ == "__main__":
    app()
