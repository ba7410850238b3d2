"""ConfigError, in a module of its own: the settings (accord/config.py) raise it, and so does
what they load (accord/signing_keys.py), which the settings ask in turn."""

from __future__ import annotations


class ConfigError(RuntimeError):
    """The configuration cannot work (a missing certificate file, a key without its cert...).

    A RuntimeError, like the SDK's connection errors, so the CLI reports it in one line."""
