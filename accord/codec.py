"""Encrypted payloads: what Temporal keeps in workflow histories is unreadable without Accord's keys.

Names, email addresses, statements and comments travel in workflow inputs, update
arguments, activity inputs and results; Temporal keeps every one of them in the history,
for years. With ``codec_keys`` configured, every client and worker of Accord encrypts each
payload (AES-256-GCM, a fresh 96-bit nonce each time) after the pydantic converter has
serialised it, and decrypts it before the converter reads it:

    ACCORD_CODEC_KEYS="2026-05:<base64 of 32 random bytes>"   # python -m accord.codec 2026-05 makes one

Rotation: list the keys oldest first, ``id:key`` separated by commas. The newest encrypts;
every listed key decrypts, by the key id each payload carries in its metadata. Add a new
key at the end on every host, then, once no running partnership can still hold a payload
written with an old key (or never, to keep old histories readable), remove the old one.

Payloads without Accord's encryption metadata are decoded unchanged: histories written in
clear before the keys were set (running partnerships, saved histories) keep replaying.

The payload format is the one of Temporal's encryption samples: metadata ``encoding:
binary/encrypted`` and ``encryption-key-id``; data = nonce + ciphertext (with its GCM tag)
of the serialised inner Payload. Failures (messages, stack traces) are encrypted too, with
the SDK's encoded-attributes failure converter.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.message import DecodeError
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from accord.config import ConfigError, Settings

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
_KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class CodecError(ValueError):
    """A payload cannot be decrypted: its key is not configured, or it was altered."""


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """``id:base64key,...`` (oldest first) as (id, key) pairs; ConfigError says what is wrong,
    never showing key material."""
    keys: list[tuple[str, bytes]] = []
    for position, item in enumerate((part.strip() for part in text.split(",")), start=1):
        if not item:
            continue
        key_id, colon, encoded = item.partition(":")
        key_id = key_id.strip()
        if not colon or not _KEY_ID_PATTERN.fullmatch(key_id):
            raise ConfigError(f"codec_keys: key {position} must be written id:base64key, with an id of letters, "
                              "digits, '.', '_' or '-' (at most 64)")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError(f"codec_keys: key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ConfigError(f"codec_keys: key {key_id!r} has {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if any(key_id == known for known, _ in keys):
            raise ConfigError(f"codec_keys: the id {key_id!r} is used twice")
        keys.append((key_id, key))
    if not keys:
        raise ConfigError("codec_keys is set but holds no key")
    return keys


def new_key(key_id: str) -> str:
    """A fresh key, written as codec_keys expects it (``id:base64``)."""
    if not _KEY_ID_PATTERN.fullmatch(key_id):
        raise ValueError("a key id is letters, digits, '.', '_' or '-' (at most 64)")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each payload; the newest key encrypts, every key decrypts."""

    def __init__(self, keys: Sequence[tuple[str, bytes]]):
        if not keys:
            raise ValueError("an encryption codec needs at least one key")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys}
        self._current = keys[-1][0]

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._current]
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            encoded.append(Payload(
                metadata={"encoding": ENCODING, KEY_ID: self._current.encode()},
                data=nonce + cipher.encrypt(nonce, payload.SerializeToString(), None),
            ))
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._decode_one(p) for p in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload  # written in clear (before the keys were set): as it is
        key_id = payload.metadata.get(KEY_ID, b"").decode("utf-8", "replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise CodecError(f"a payload is encrypted with the key {key_id[:64]!r}, which is not in codec_keys")
        if len(payload.data) <= NONCE_BYTES:
            raise CodecError("an encrypted payload is too short to hold anything")
        try:
            plain = cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None)
        except InvalidTag:
            raise CodecError(f"an encrypted payload (key {key_id!r}) does not decrypt: it was altered") from None
        try:
            return Payload.FromString(plain)
        except DecodeError:  # only if whoever held the key sealed something else
            raise CodecError(f"an encrypted payload (key {key_id!r}) holds no payload") from None


def codec_for(settings: Settings) -> EncryptionCodec | None:
    """The codec the settings ask for, or None (payloads in clear: the embedded default)."""
    secret = settings.codec_keys
    text = secret.get_secret_value().strip() if secret is not None else ""
    return EncryptionCodec(parse_keys(text)) if text else None


def data_converter(settings: Settings) -> DataConverter:
    """The pydantic converter, with the encrypting codec and encrypted failures when keys are set."""
    codec = codec_for(settings)
    if codec is None:
        return pydantic_data_converter
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec,
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


if __name__ == "__main__":  # python -m accord.codec 2026-05  ->  a new key to append to codec_keys
    import sys

    print(new_key(sys.argv[1] if len(sys.argv) > 1 else "k1"))
