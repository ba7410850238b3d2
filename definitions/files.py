"""Reading a definition file or a request body: at most MAX_TEXT bytes, only a regular file,
UTF-8 only; each refusal is one :class:`~definitions.issues.Issue`."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

from definitions.issues import DefinitionError, Issue, short

MAX_TEXT = 200_000
"""The most characters of definition text parsed (and bytes of a file or request body read).

16 times the largest sample and 4 times the amendment cap. Checked before parsing, and a
file is never read beyond it, so a 20 MB file (or /dev/zero) costs nothing."""

_FILE_KINDS: list[tuple[Callable[[int], bool], str]] = [
    (stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
]



def decode(raw: bytes, file: str) -> str:
    """A file's or a request body's bytes as text: UTF-8 (a byte order mark is allowed), else one issue."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        wide = "UTF-32" if raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) else "UTF-16"
        raise DefinitionError([Issue(file, 1, "(file)", f"{wide} text (it starts with a {wide} byte order mark): "
                                     "save it as UTF-8")])
    if looks_like_utf16(raw[:64]):
        raise DefinitionError([Issue(file, 1, "(file)", "looks like UTF-16 text (a NUL after each letter): save it as UTF-8")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise DefinitionError([Issue(file, line, "(file)", f"not UTF-8 text: the byte 0x{raw[exc.start]:02x} "
                                     "cannot start or continue a character (save it as UTF-8)")]) from None


def looks_like_utf16(head: bytes) -> bool:
    """UTF-16 without a byte order mark: in text that is mostly ASCII, every other byte is NUL."""
    pairs = len(head) // 2
    return pairs >= 2 and (head[1::2].count(0) == pairs or head[0::2].count(0) == pairs)


def read(path: str | Path) -> str:
    """A definition file's text, reading at most MAX_TEXT bytes; anything else is one issue.

    Only a regular file is opened for reading (a FIFO would wait for a writer, a device
    could never end): the kind is checked before opening, and again on what was opened,
    which is opened without waiting in case the path was swapped in between.
    """
    p, name = Path(path), str(path)

    def refuse(message: str) -> DefinitionError:
        return DefinitionError([Issue(name, 1, "(file)", message)])

    try:
        kind = os.stat(p).st_mode
    except FileNotFoundError:
        if p.is_symlink():
            raise refuse(f"a link to {short(os.readlink(p), 200)}, which does not exist") from None
        raise refuse("cannot read: No such file or directory") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise refuse(f"cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    _regular_file(kind, refuse)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            _regular_file(os.fstat(f.fileno()).st_mode, refuse)
            raw = f.read(MAX_TEXT + 1)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_TEXT:
        raise refuse(f"larger than {MAX_TEXT:,} bytes: a definition is at most that (real ones are about 10 KB)")
    return decode(raw, name)


def _regular_file(mode: int, refuse: Callable[[str], DefinitionError]) -> None:
    for test, what in _FILE_KINDS:
        if test(mode):
            raise refuse(f"is {what}, not a definition file")
    if not stat.S_ISREG(mode):
        raise refuse("is not a regular file")

