"""What both workflows (the partnership and its escalations) are built from.

- ``updates``: apply an update once, and the lock under which a handler checks its
  validator again before it changes anything;
- ``notifier``: email to people and ops through the email activity, unreachable people,
  emails delayed by the mail provider;
- ``mailing``: the email activity call and its failure rules (also the watchdog's);
- ``chase``: the one chase/deadline loop: wait until the work is done or the next reminder,
  overdue notice or escalation is due, recomputed from ``workflow.now()`` on every pass;
- ``chain``: the chain id that names a run chain's send keys and children, kept by a reset;
- ``activities``: the activities workflows call, declared by name and types only.

The patch registry is ``workflows/versions.py``: every patch id, what it changed, when it
can be retired, and the rules versions.
"""
