"""Accord's own Prometheus metrics: every name in one place.

They are recorded through the Temporal SDK's meters, so they come out of the same
Prometheus endpoint as the SDK's metrics (counters get ``_total``):

| metric | type | labels | recorded by |
|---|---|---|---|
| accord_emails_sent_total | counter | template | the email activity, once per email the backend accepted |
| accord_emails_failed_total | counter | template, kind (permanent, retryable) | the email activity |
| accord_emails_delayed_total | counter | template | the email activity, once per email still failing after `mail_alert_after` |
| accord_tasks_overdue_total | counter | kind | the partnership workflow, when a task passes its due time |
| accord_tasks_overdue_closed_total | counter | kind | the partnership workflow, when an overdue task is done or waived |
| accord_stage_entered_total | counter | stage | the partnership workflow |
| accord_escalation_level_reached_total | counter | level | the escalation workflow |
| accord_escalations_open | gauge | level | each worker, from visibility (running EscalationWorkflows by AccordEscalationLevel) |
| accord_partnerships | gauge | stage, status | each worker, from visibility (running PartnershipWorkflows) |
| accord_partnerships_stuck | gauge | kind | each worker, from accord.ops.stuck (visibility, describe): running partnerships stuck, by kind |

Tasks overdue now = ``sum(accord_tasks_overdue_total) - sum(accord_tasks_overdue_closed_total)``.
Workflow metrics are not recorded while a workflow replays, so a worker restart counts
nothing twice. The gauges come from every worker alike: aggregate them with ``max``.
"""

from __future__ import annotations

from temporalio import activity

EMAILS_SENT = "accord_emails_sent"
EMAILS_FAILED = "accord_emails_failed"
EMAILS_DELAYED = "accord_emails_delayed"
TASKS_OVERDUE = "accord_tasks_overdue"
TASKS_OVERDUE_CLOSED = "accord_tasks_overdue_closed"
STAGE_ENTERED = "accord_stage_entered"
ESCALATION_LEVEL_REACHED = "accord_escalation_level_reached"
ESCALATIONS_OPEN = "accord_escalations_open"
PARTNERSHIPS = "accord_partnerships"
PARTNERSHIPS_STUCK = "accord_partnerships_stuck"


def email_sent(template: str) -> None:
    """From inside the email activity."""
    activity.metric_meter().create_counter(EMAILS_SENT, "Emails the mail backend accepted").add(1, {"template": template})


def email_failed(template: str, kind: str) -> None:
    """From inside the email activity: ``permanent`` (refused for good) or ``retryable``."""
    activity.metric_meter().create_counter(EMAILS_FAILED, "Email attempts that failed").add(
        1, {"template": template, "kind": kind})


def email_delayed(template: str) -> None:
    """From inside the email activity: an email still failing after the alert time (once per send key)."""
    activity.metric_meter().create_counter(EMAILS_DELAYED, "Emails still failing after mail_alert_after").add(
        1, {"template": template})
