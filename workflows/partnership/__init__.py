"""The partnership workflow (one per partnership), one module per stage and component.

- ``workflow``: the workflow class: ``@workflow.init``, the run loop, queries, thin update and
  signal handlers (each validated by the rule book, then applied by the part it concerns);
- ``context``: what every part shares (the definition in force, the state, the work in flight);
- ``record``: the audit trail, search attributes and the Temporal UI's current details;
- ``notices``: the partnership's email (``workflows.toolkit.notifier``), delivery news;
- ``tasks``: opening and chasing tasks; ``approvals``: the approval engine (rounds, asking, chasing);
- ``escalations``: raising escalations (child workflows) and keeping their record;
- stages: ``screening``, ``mou``, ``launch``, ``operating`` (the active years, continue-as-new),
  ``reviews`` and ``review_close`` (the cadences), ``metrics``, ``renewal``, ``closure``;
- ``amendments``: changed definitions through approval.

Each part is a small class holding the context and the parts it uses, passed in explicitly
(``PartnershipWorkflow.__init__`` wires them); none reaches into another's private names.
"""

from workflows.partnership.workflow import PartnershipWorkflow

__all__ = ["PartnershipWorkflow"]
