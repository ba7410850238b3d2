"""Determinism: the histories saved by earlier versions of Accord replay against today's code.

They are in tests/histories/<version>/ (proof that deployed workflows keep replaying after a
code change; a release saves its set with ACCORD_RECORD_HISTORIES, see tests/support/corpus.py).
Every history the tests of this run produced is replayed too, when the session ends
(tests/support/run_record.py): that check needs all of them, so it cannot be a test among the others.
"""

from __future__ import annotations

from pydantic import SecretStr

from accord.codec import data_converter, new_key
from accord.config import Settings
from tests.support.history_files import saved
from tests.support.run_record import replay


async def test_saved_histories_from_earlier_versions_replay():
    histories = saved()
    assert len(histories) >= 5, "tests/histories/ must hold the histories of earlier versions"
    assert await replay(histories) == {}


async def test_saved_histories_written_in_clear_replay_with_the_encrypting_codec_on():
    """Turning codec_keys on must not strand running partnerships: their clear payloads decode as they are."""
    encrypting = data_converter(Settings(codec_keys=SecretStr(new_key("k1"))))
    assert encrypting.payload_codec is not None
    assert await replay(saved(), encrypting) == {}
