"""The chain id: the name a run chain (a workflow's first run and every run that continues
it as new) gives its emails' send keys and its escalation children.

It is set once, in the chain's first run, and carried in the state over continue-as-new, so it
must be the same however often that first run is executed again. A reset makes a new run that
re-executes the run from the start under a new run id, but Temporal keeps the chain's
``first_execution_run_id`` (measured on the dev server: after a reset of the first run and of a
continued run alike, it names the first run; ``tests/workflows/test_chain.py``). Named after it, the
reset run sends no email a second time (the ledger knows every key) and finds the escalation
children the original run started under the same ids.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.versions import PATCH_CHAIN_SURVIVES_RESET


def new_chain_id() -> str:
    """The chain id of a chain's first run: call it once, from ``@workflow.init``, only when
    the run starts a chain (no state carried in). Runs written before the patch keep the id
    they used (their own run id: a reset of them still gets a new one)."""
    info = workflow.info()
    if workflow.patched(PATCH_CHAIN_SURVIVES_RESET):
        # Both servers set it (the dev server and the time-skipping test server); the run id
        # is the same value in a first run, for a server that would not.
        return info.first_execution_run_id or info.run_id
    return info.run_id
