"""The escalation workflow (one per escalation, a child of its partnership): see ``workflow.py``.

- ``workflow``: the workflow class: the ladder loop and the message handlers;
- ``context``: what its parts share (definition, ladder, people, state);
- ``notices``: its email (each level's contacts, ops past the ladder, delivery problems);
- ``care``: what people do with it (acknowledge, CARE, resolve, withdraw);
- ``reporting``: the partnership's copy (``escalation_changed``) and the Temporal UI.
"""

import temporalio.workflow

from workflows.escalation.reporting import CHANGED_SIGNAL
from workflows.escalation.workflow import ESCALATION_WORKFLOWS, EscalationWorkflow

# (The submodule above is named `workflow`: it would shadow temporalio's here.)
with temporalio.workflow.unsafe.imports_passed_through():
    from accord.models import escalation_workflow_id

__all__ = ["CHANGED_SIGNAL", "ESCALATION_WORKFLOWS", "EscalationWorkflow", "escalation_workflow_id"]
