"""Signed action links: what verifies, what does not, and what the person is told."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from accord.models import ActionLink
from accord.tokens import Claim, TokenError, fingerprint, mint, verify

OLD, NEW, OTHER = "old-key-0123456789", "new-key-9876543210", "someone-elses-key"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
EXPIRES = NOW + timedelta(days=7)
LINK = ActionLink(action="decision", ref="mou-signature", round=2, expires_at=EXPIRES)
WORKFLOW = "partnership-county-permits"


def token(keys: list[str] = [OLD], link: ActionLink = LINK, recipient: str = "ann") -> str:  # noqa: B006
    return mint(WORKFLOW, recipient, link, keys)


def flip(ch: str) -> str:
    return "B" if ch != "B" else "C"


def tamper(text: str, index: int) -> str:
    return text[:index] + flip(text[index]) + text[index + 1 :]


def test_round_trip_returns_every_claim() -> None:
    claim = verify(token(), [OLD], now=NOW)
    assert claim == Claim(
        workflow_id=WORKFLOW, action="decision", ref="mou-signature", round=2, recipient="ann", expires_at=EXPIRES
    )


def test_token_is_url_safe() -> None:
    assert re.fullmatch(r"[A-Za-z0-9_.\-]+", token())


def test_a_changed_character_in_the_payload_is_refused() -> None:
    t = token()
    payload_end = t.rindex(".")
    # Middle characters of base64 carry full bits, so the decoded payload really changes.
    for index in (payload_end // 3, payload_end // 2, payload_end - 5):
        with pytest.raises(TokenError) as exc:
            verify(tamper(t, index), [OLD], now=NOW)
        assert "not valid" in exc.value.reason
        assert exc.value.claim is None


def test_a_changed_character_in_the_signature_is_refused() -> None:
    t = token()
    signature_start = t.rindex(".") + 1
    for index in (signature_start, signature_start + 5, signature_start + 12):
        with pytest.raises(TokenError) as exc:
            verify(tamper(t, index), [OLD], now=NOW)
        assert exc.value.claim is None


@pytest.mark.parametrize("bad", ["", "garbage", "a.b", token()[:-4], token() + "x", token().split(".")[-1]])
def test_truncated_or_garbage_tokens_are_refused_with_token_error(bad: str) -> None:
    with pytest.raises(TokenError):
        verify(bad, [OLD], now=NOW)


def test_a_token_signed_with_another_key_is_refused() -> None:
    with pytest.raises(TokenError):
        verify(token([OTHER]), [OLD], now=NOW)
    with pytest.raises(TokenError):
        verify(token([OLD]), [NEW], now=NOW)


def test_a_forged_claim_for_another_recipient_does_not_verify() -> None:
    # Swapping the payload of ann's link with ben's, keeping ann's signature, fails.
    ann, ben = token(recipient="ann"), token(recipient="ben")
    forged = ben[: ben.rindex(".")] + ann[ann.rindex(".") :]
    with pytest.raises(TokenError):
        verify(forged, [OLD], now=NOW)


def test_key_rotation_old_links_keep_working_after_a_new_key_is_added() -> None:
    # Minted before the rotation (only the old key), verified after it (old and new).
    assert verify(token([OLD]), [OLD, NEW], now=NOW).recipient == "ann"


def test_key_rotation_the_newest_key_signs() -> None:
    # With [old, new] the last key signs: verifying with the new key alone works...
    minted = token([OLD, NEW])
    assert verify(minted, [NEW], now=NOW).ref == "mou-signature"
    # ...and once the new key is the only one configured, the old key cannot verify it.
    with pytest.raises(TokenError):
        verify(minted, [OLD], now=NOW)


def test_key_rotation_retiring_the_old_key_invalidates_its_links() -> None:
    with pytest.raises(TokenError):
        verify(token([OLD]), [NEW], now=NOW)


def test_an_expired_link_says_so_and_still_says_what_it_was_for() -> None:
    t = token()
    with pytest.raises(TokenError) as exc:
        verify(t, [OLD], now=EXPIRES + timedelta(seconds=1))
    assert "expired" in exc.value.reason.lower()
    assert str(exc.value) == exc.value.reason
    assert exc.value.claim is not None
    assert exc.value.claim.ref == "mou-signature"
    assert exc.value.claim.recipient == "ann"


def test_a_link_expires_at_its_expiry_instant_not_after() -> None:
    t = token()
    assert verify(t, [OLD], now=EXPIRES - timedelta(seconds=1)).round == 2
    with pytest.raises(TokenError, match="expired"):
        verify(t, [OLD], now=EXPIRES)


def test_without_now_the_current_time_is_used() -> None:
    fresh = ActionLink(action="task", ref="legal-review", expires_at=datetime.now(UTC) + timedelta(hours=1))
    stale = ActionLink(action="task", ref="legal-review", expires_at=datetime.now(UTC) - timedelta(hours=1))
    assert verify(token(link=fresh), [OLD]).action == "task"
    with pytest.raises(TokenError, match="expired"):
        verify(token(link=stale), [OLD])


def test_a_naive_expiry_is_read_as_utc_not_a_crash() -> None:
    naive = ActionLink(action="task", ref="legal-review", expires_at=datetime(2025, 6, 8, 12, 0))
    t = token(link=naive)
    assert verify(t, [OLD], now=NOW).ref == "legal-review"
    with pytest.raises(TokenError, match="expired"):
        verify(t, [OLD], now=datetime(2025, 6, 8, 12, 0, tzinfo=UTC))


def test_fingerprint_is_stable_short_hex_and_distinct_per_token() -> None:
    t = token()
    assert fingerprint(t) == fingerprint(t)
    assert re.fullmatch(r"[0-9a-f]{16}", fingerprint(t))
    others = {token(recipient=r) for r in ("ann", "ben", "cat")} | {token([NEW]), token(link=LINK.model_copy(update={"round": 3}))}
    assert len({fingerprint(o) for o in others}) == len(others) == 5
    # Non-reversible: the fingerprint does not contain the token or its parts.
    assert fingerprint(t) not in t
