"""Determinism: the histories saved by earlier versions of Accord replay against today's code.

They are in tests/histories/<version>/ (proof that deployed workflows keep replaying after a
code change; a release saves its set with ACCORD_RECORD_HISTORIES, see tests/support/corpus.py).
Every history the tests of this run produced is replayed too, when the session ends
(tests/support/run_record.py): that check needs all of them, so it cannot be a test among the others.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from accord.codec import data_converter, new_key
from accord.config import Settings
from tests.support.history_files import saved, saved_file, workflow_type
from tests.support.paths import HISTORIES
from tests.support.run_record import replay


async def test_saved_histories_from_earlier_versions_replay():
    histories = saved()
    assert len(histories) >= 5, "tests/histories/ must hold the histories of earlier versions"
    assert await replay(histories) == {}


async def test_saved_histories_written_in_clear_replay_with_the_encrypting_codec_on():
    """Turning codec_keys on must not strand running partnerships: their clear payloads decode as they are.

    The codec decodes payload by payload, whatever the history, so the largest history of each
    workflow type in each saved set (every kind of payload each version wrote) stands for the
    set: replaying all of them a second time doubled the replay's share of the suite."""
    encrypting = data_converter(Settings(codec_keys=SecretStr(new_key("k1"))))
    assert encrypting.payload_codec is not None
    largest: dict[tuple[str, str], tuple[int, Path]] = {}
    for path in sorted(HISTORIES.rglob("*.json")):
        key = (path.relative_to(HISTORIES).parts[0], workflow_type(saved_file(path)))
        largest[key] = max(largest.get(key, (0, path)), (path.stat().st_size, path))
    chosen = [saved_file(path) for _, path in largest.values()]
    assert {"PartnershipWorkflow", "EscalationWorkflow"} <= {workflow_type(h) for h in chosen}
    assert await replay(chosen, encrypting, sandboxed=False) == {}
