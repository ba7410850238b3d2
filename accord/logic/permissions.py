"""Who may do what in a partnership: pure rules, read by the workflows' validators, the pages,
the API and the CLI alike."""

from __future__ import annotations

from accord.models import TaskKind

# Tasks a person marks done (the others complete through their own action: a statement,
# a metric's value, a review input).
COMPLETABLE = (TaskKind.checklist, TaskKind.deliverable, TaskKind.action, TaskKind.diagnostic)
