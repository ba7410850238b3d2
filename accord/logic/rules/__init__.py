"""The rule book: what each update of the workflows refuses, and why, as pure functions.

Each ``check_*`` takes the run's state, the definition in force and the update's input, and
raises ``ValueError`` with the refusal a person reads; the state carries its
``rules_version``, so a rule that changed with a version (workflows/versions.py) judges a
partnership by the rules it runs under. The workflows' update validators call these (and
their handlers call them again under the state lock); the pages, the API and the CLI use the
same predicates and limits (:mod:`accord.logic.permissions`, :mod:`accord.logic.limits`).

- :mod:`accord.logic.rules.partnership`: tasks, goal statements, reviews, metrics, amendments,
  closing, raising an escalation;
- :mod:`accord.logic.rules.decisions`: approvals (deciding, delegating), the alignment
  override, MOU revisions;
- :mod:`accord.logic.rules.escalations`: acknowledging, the CARE record, resolving, withdrawing.
"""
