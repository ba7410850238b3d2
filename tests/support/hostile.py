"""The hostile-input table: what an attacker (or a careless editor) could hand Accord, and what
Accord must do with it. Run by tests/faults/test_hostile_input.py, which prints the figures.

Each row is a :class:`Case`: its class (encodings, YAML tags, ...), a name, the input, the
expectation (``refused`` with a clear message, or ``accepted``) and the way it arrives
(``validate``: a file given to `accord validate`; ``api``: the body of
``POST /api/v1/partnerships``). A class is added as plain rows. A way is added as rows that
name it, plus, in the test module, a runner that turns a case into an :class:`Outcome` and a
test parametrized with ``rows(way)``: the judging (:func:`judge` there) and the figures are
shared by every way.

Every ``bytes`` input of a ``validate`` row is also sent to the API (see :func:`table`), so
the same text is judged the same way wherever it arrives.
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Literal

import yaml

from tests.support.paths import DATA

MINIMAL = (DATA / "minimal.yaml").read_text(encoding="utf-8")
RUN = uuid.uuid4().hex[:6]  # partnership ids are unique per run: the dev server is shared

Expect = Literal["refused", "accepted"]
Input = bytes | Callable[[Path], Path]
"""The text (a file's bytes, a request's body), or a function that makes a path in a folder."""


@dataclass(frozen=True)
class Case:
    cls: str
    name: str
    input: Input
    expect: Expect
    way: str = "validate"
    says: str = ""
    """Part of the message a refusal must give (what makes it clear); empty for accepted rows."""
    media: str = "application/yaml"
    """For ways over HTTP: the Content-Type."""
    chunked: bool = False
    """For ways over HTTP: send the body without a Content-Length (chunked), as a stream."""

    @property
    def id(self) -> str:
        return f"{self.way}:{self.cls}:{self.name}"


@dataclass
class Outcome:
    """What happened to one case, as the person (or program) sending it would see it."""

    refused: bool
    lines: list[str] = field(default_factory=list)
    """The problems shown: `accord validate`'s lines, the API's problems as lines, its detail."""
    output: str = ""
    """Everything printed or answered, for the traceback check and for failure messages."""
    status: int | None = None
    """HTTP status, for ways over HTTP; `accord validate`'s exit code otherwise."""
    seconds: float = 0.0
    cpu_seconds: float | None = None
    """CPU time of the process that parsed it, where that process is the case's own."""
    max_rss_kb: int | None = None
    """Peak memory of the process that parsed it, where that process is the case's own."""
    crashed: str = ""
    """Why the run itself went wrong (a signal, a memory error, a 5xx): empty when all is well."""


# ---------------------------------------------------------------------- building inputs


def definition(name: str, *changes: tuple[str, str]) -> str:
    """tests/data/minimal.yaml (valid) under a unique id, with each ``old -> new`` made once."""
    text = MINIMAL.replace("id: minimal\n", f"id: hostile-{RUN}-{name}\n", 1)
    for old, new in changes:
        assert old in text, f"{old!r} is not in minimal.yaml"
        text = text.replace(old, new, 1)
    return text


def utf8(text: str) -> bytes:
    return text.encode("utf-8")


def alias_bomb(levels: int = 9, fan: int = 10) -> bytes:
    """The "billion laughs": each level a list of ``fan`` aliases to the level before."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * fan) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * fan) + "]" for i in range(1, levels)]
    return utf8("\n".join(lines) + "\n")


def json_of(text: str) -> bytes:
    return utf8(json.dumps(yaml.safe_load(text), ensure_ascii=False, indent=2))


@cache
def padded(size: int) -> bytes:
    """A valid definition followed by a comment, ``size`` bytes in all."""
    text = utf8(definition(f"padded-{size}"))
    return text + b"# " + b"x" * (size - len(text) - 3) + b"\n"


def fifo(folder: Path) -> Path:
    path = folder / "pipe.yaml"
    os.mkfifo(path)  # nobody ever writes to it: opening it for reading would wait for ever
    return path


def dangling(folder: Path) -> Path:
    path = folder / "gone.yaml"
    path.symlink_to(folder / "removed.yaml")
    return path


def link_loop(folder: Path) -> Path:
    (folder / "loop-a.yaml").symlink_to(folder / "loop-b.yaml")
    (folder / "loop-b.yaml").symlink_to(folder / "loop-a.yaml")
    return folder / "loop-a.yaml"


def unreadable(folder: Path) -> Path:
    path = folder / "secret.yaml"
    path.write_text(MINIMAL, encoding="utf-8")
    path.chmod(0)  # the runner runs `accord validate` as an unprivileged user, so this holds even for root
    return path


def unix_socket(folder: Path) -> Path:
    path = folder / "sock.yaml"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(path))
    return path


def folder_named_yaml(folder: Path) -> Path:
    (folder / "searched" / "looks-like-a-file.yaml").mkdir(parents=True)
    return folder / "searched"


def empty_folder(folder: Path) -> Path:
    (folder / "nothing-here").mkdir()
    return folder / "nothing-here"


def device_link(folder: Path) -> Path:
    path = folder / "zero.yaml"
    path.symlink_to("/dev/zero")
    return path


def terminal_name(folder: Path) -> Path:
    """A file whose name holds a line break and a terminal escape: its problem must stay one plain line."""
    path = folder / "bad\nname\x1b[31m.yaml"
    path.write_bytes(b"")
    return path


def at(path: str) -> Callable[[Path], Path]:
    return lambda folder: Path(path)


# ---------------------------------------------------------------------- the rows

MARKUP = '<b>Acme</b> & "Sons" \'n\' <script>alert(1)</script>'


def _refused(cls: str, name: str, text: str | bytes | Callable[[Path], Path], says: str) -> Case:
    return Case(cls, name, utf8(text) if isinstance(text, str) else text, "refused", says=says)


def _accepted(cls: str, name: str, text: str | bytes) -> Case:
    return Case(cls, name, utf8(text) if isinstance(text, str) else text, "accepted")


ENCODINGS = [
    _refused("encodings", "Latin-1 byte in a name", utf8(definition("latin1")).replace(b"Ann Alpha", b"Ann \xe9"),
             "not UTF-8 text"),
    _refused("encodings", "overlong UTF-8 sequence", utf8(definition("overlong")).replace(b"Ann Alpha", b"Ann \xc0\xaf"),
             "not UTF-8 text"),
    _refused("encodings", "truncated UTF-8 at the end", utf8(definition("cut")) + b"# \xe2\x82", "not UTF-8 text"),
    _refused("encodings", "UTF-16 LE with BOM", definition("u16le").encode("utf-16"), "UTF-16"),
    _refused("encodings", "UTF-16 BE with BOM", b"\xfe\xff" + definition("u16be").encode("utf-16-be"), "UTF-16"),
    _refused("encodings", "UTF-16 LE without BOM", definition("u16nobom").encode("utf-16-le"), "looks like UTF-16"),
    _refused("encodings", "UTF-32 with BOM", definition("u32").encode("utf-32"), "UTF-32"),
    _refused("encodings", "NUL byte in a value", utf8(definition("nul")).replace(b"Ann Alpha", b"Ann\x00Alpha"),
             "U+0000 is not allowed"),
    _refused("encodings", "lone surrogate escape in a value", definition("surrogate", ("name: Ann Alpha", 'name: "Ann \\ud800"')),
             "lone surrogate"),
    _refused("encodings", "lone surrogate escape in a key", definition("surrogate-key") + '"\\udc00x": 1\n', "lone surrogate"),
    _accepted("encodings", "UTF-8 with BOM", b"\xef\xbb\xbf" + utf8(definition("bom"))),
    _accepted("encodings", "names in many scripts", definition("scripts", ("name: Ann Alpha", "name: Ånn Ålpha 漢字 Ελένη 🤝"),
                                                              ("name: Beta GmbH", "name: Beta Straße GmbH"))),
    _accepted("encodings", "CRLF line ends", definition("crlf").replace("\n", "\r\n")),
]

TAGS = [
    _refused("YAML tags", "!!python/object/apply", definition("py-apply", ("name: Ann Alpha", "name: !!python/object/apply:os.system [id]")),
             "tag '!!python/object/apply:os.system' is not allowed"),
    _refused("YAML tags", "!!python/name", definition("py-name", ("role: sponsor", "role: !!python/name:os.system")),
             "tag '!!python/name:os.system' is not allowed"),
    _refused("YAML tags", "!!python/object/new on a mapping", definition("py-new") + "x: !!python/object/new:list {}\n",
             "is not allowed"),
    _refused("YAML tags", "unknown tag on a scalar", definition("tag-scalar", ("name: Ann Alpha", "name: !foo Ann")),
             "tag '!foo' is not allowed"),
    _refused("YAML tags", "unknown tag on a mapping", definition("tag-map", ("ops:\n", "ops: !foo\n")), "tag '!foo' is not allowed"),
    _refused("YAML tags", "unknown tag on a sequence", definition("tag-seq", ("participants: [ann, ben]", "participants: !foo [ann, ben]")),
             "tag '!foo' is not allowed"),
    _refused("YAML tags", "verbatim tag", definition("verbatim", ("name: Ann Alpha", "name: !<tag:evil.example,2024:x> Ann")),
             "is not allowed"),
    _refused("YAML tags", "!!set on a mapping", definition("set") + "x: !!set {a, b}\n", "tag '!!set' is not allowed"),
    _refused("YAML tags", "!!binary", definition("binary", ("name: Ann Alpha", "name: !!binary QW5u")), "tag '!!binary' is not allowed"),
    _refused("YAML tags", "!!map on a scalar", definition("map-scalar", ("name: Ann Alpha", "name: !!map Ann")),
             "tag '!!map' is not allowed"),
    _refused("YAML tags", "bad !!int", definition("int", ("target: 10", "target: !!int ten")), "'ten' is not a whole number"),
    _refused("YAML tags", "bad !!float", definition("float", ("target: 10", "target: !!float 1,5")), "'1,5' is not a number"),
    _refused("YAML tags", "bad !!bool", definition("bool") + "x: !!bool maybe\n", "'maybe' is not true or false"),
    _refused("YAML tags", "bad !!timestamp", definition("ts") + "x: !!timestamp 2024-13-45\n", "is not a date or time"),
    _refused("YAML tags", "a date with a +99:00 offset", definition("tz") + "x: 2024-01-01T00:00:00+99:00\n",
             "is not a date or time"),
    _refused("YAML tags", "a 5,000-digit number", definition("digits", ("target: 10", "target: " + "9" * 5000)), "too many digits"),
    _refused("YAML tags", "a mapping as a key", definition("map-key") + "? {a: 1}\n: x\n", "a key must be text, not a mapping"),
    _refused("YAML tags", "a list as a key", definition("list-key") + "[a, b]: x\n", "a key must be text, not a list"),
    _accepted("YAML tags", "!!str and ! on plain values", definition("str-tag", ("role: sponsor", "role: !!str 2024"),
                                                                     ("name: Ann Alpha", "name: ! Ann Alpha"))),
]

NESTING = [
    _refused("aliases and nesting", "nine-level alias bomb", alias_bomb(), "more than 10,000 values"),
    _refused("aliases and nesting", "alias bomb inside a definition",
             definition("bomb-inside") + "x:\n" + "".join(f"  {line}\n" for line in alias_bomb().decode().splitlines()),
             "more than 10,000 values"),
    _refused("aliases and nesting", "wide fan-out of aliases",
             "a: &a [" + ", ".join(["x"] * 300) + "]\nb: [" + ", ".join(["*a"] * 300) + "]\n", "more than 10,000 values"),
    _refused("aliases and nesting", "recursive alias in a list", definition("rec-list") + "x: &x [*x]\n", "recursive alias"),
    _refused("aliases and nesting", "recursive alias in a mapping", definition("rec-map") + "x: &x {y: *x}\n", "recursive alias"),
    _refused("aliases and nesting", "recursive alias two levels down", definition("rec-deep") + "x: &x {y: [{z: *x}]}\n",
             "recursive alias"),
    _refused("aliases and nesting", "undefined alias", definition("undef", ("participants: [ann, ben]", "participants: *nobody")),
             "undefined alias"),
    _refused("aliases and nesting", "20,000-deep flow lists", "[" * 20_000 + "]" * 20_000 + "\n", "nested more than 50 levels"),
    _refused("aliases and nesting", "20,000-deep flow mappings", "{a: " * 20_000 + "1" + "}" * 20_000 + "\n",
             "nested more than 50 levels"),
    _refused("aliases and nesting", "20,000-deep block lists", "- " * 20_000 + "x\n", "nested more than 50 levels"),
    _refused("aliases and nesting", "60-deep indented mappings", "".join(" " * i + f"k{i}:\n" for i in range(60)) + " " * 60 + "v\n",
             "nested more than 50 levels"),
    _accepted("aliases and nesting", "anchors and aliases used sensibly",
              definition("aliases", ("  go_no_go:\n    approvers: [ann, ben]", "  go_no_go:\n    approvers: &both [ann, ben]"),
                         ("  signatories: [ann, ben]", "  signatories: *both"),
                         ("  approval:\n    approvers: [ann, ben]", "  approval:\n    approvers: *both"))),
]

SIZES = [
    _refused("sizes", "20 MB file", padded(20 * 2**20), "larger than 200,000 bytes"),
    _refused("sizes", "one byte over the limit", padded(200_001), "larger than 200,000 bytes"),
    _refused("sizes", "15,000 values without an alias", definition("wide") + "x: [" + ",".join(["1"] * 15_000) + "]\n",
             "more than 10,000 values"),
    _refused("sizes", "empty file", b"", "the file is empty"),
    _refused("sizes", "only a comment", b"# nothing here\n", "the file is empty"),
    _refused("sizes", "two documents", definition("two-docs") + "---\n" + definition("two-docs-2"), "expected a single document"),
    _accepted("sizes", "exactly at the limit", padded(200_000)),
]

SYNTAX = [
    _refused("YAML syntax", "unquoted ': ' in a title", definition("colon", ("title: Kickoff meeting", "title: Kickoff: day one")),
             "must be in quotes"),
    _refused("YAML syntax", "unquoted ': ' in a flow mapping", definition("flow-colon") + "x: {name: Note: this}\n",
             "must be in quotes"),
    _refused("YAML syntax", "unclosed flow list", definition("unclosed", ("participants: [ann, ben]", "participants: [ann, ben")),
             "close each bracket"),
    _refused("YAML syntax", "value starting with @", definition("at", ("role: sponsor", "role: @sponsor")), "must be in quotes"),
    _refused("YAML syntax", "value starting with *", definition("star", ("role: sponsor", "role: *sponsor*")), "must be in quotes"),
]

PATHS = [
    _refused("paths", "/dev/zero", at("/dev/zero"), "is a character device"),
    _refused("paths", "/dev/null", at("/dev/null"), "is a character device"),
    _refused("paths", "a link to /dev/zero", device_link, "is a character device"),
    _refused("paths", "a FIFO nobody writes to", fifo, "is a named pipe (FIFO)"),
    _refused("paths", "a UNIX socket", unix_socket, "is a socket"),
    _refused("paths", "a dangling link", dangling, "which does not exist"),
    _refused("paths", "a link loop", link_loop, "Too many levels of symbolic links"),
    _refused("paths", "a folder named like a definition", folder_named_yaml, "is a folder"),
    _refused("paths", "a folder with no definitions", empty_folder, "a folder without definition files"),
    _refused("paths", "a missing file", lambda folder: folder / "missing.yaml", "No such file"),
    _refused("paths", "an unreadable file", unreadable, "Permission denied"),
    _refused("paths", "a file name with a line break and an escape", terminal_name, "the file is empty"),
]


def markup_definition(name: str) -> str:
    """A valid definition with markup in every name and title a person sees."""
    return definition(
        name,
        ("name: Minimal partnership", f"name: '{MARKUP.replace(chr(39), chr(39) * 2)}'"),
        ("name: Ops desk", 'name: "<i>Ops</i> & \\"desk\\""'),
        ("name: Alpha Ltd", "name: Alpha <b>Ltd</b> & Co"),
        ("name: Ann Alpha", "name: \"Ann <img src=x onerror=alert('1')>\""),
        ("role: sponsor", 'role: "sponsor & <u>owner</u>"'),
        ("title: Legal and compliance review", "title: 'Legal <a href=\"https://evil.example\">review</a>'"),
        ("definition_of_done: Both teams met and agreed the plan.",
         "definition_of_done: \"&amp; &lt;done&gt; \\\"quoted\\\" 'single'\""),
    )


MARKUP_ROWS = [
    _accepted("markup", "markup in every name and title", markup_definition("markup")),
    _accepted("markup", "values that look like YAML syntax, quoted", definition(
        "yamlish", ("role: sponsor", "role: \"!important *star* &anchor @at `tick` {brace} [list]\""))),
]

ROWS: list[Case] = [*ENCODINGS, *TAGS, *NESTING, *SIZES, *SYNTAX, *PATHS, *MARKUP_ROWS]

# Through the API only: what a program may send that a file cannot be.
API_ONLY = [
    Case("sizes", "20 MB body, chunked (no length)", padded(20 * 2**20), "refused", "api", says="larger than 200,000 bytes",
         chunked=True),
    Case("aliases and nesting", "100,000-deep JSON", b"[" * 100_000 + b"]" * 100_000, "refused", "api",
         says="nested", media="application/json"),
    Case("aliases and nesting", "20,000-deep JSON objects", b'{"a": ' * 20_000 + b"1" + b"}" * 20_000, "refused", "api",
         says="nested", media="application/json"),
    Case("YAML tags", "JSON with a 5,000-digit number", b'{"version": ' + b"9" * 5000 + b"}", "refused", "api",
         says="digits", media="application/json"),
    Case("encodings", "JSON with a lone surrogate escape", json_of(definition("json-surrogate")).replace(
        b'"Ann Alpha"', b'"Ann \\ud800"'), "refused", "api", says="lone surrogate", media="application/json"),
    Case("encodings", "JSON in UTF-16", definition("json-u16").encode("utf-16"), "refused", "api", says="UTF-16",
         media="application/json"),
    Case("markup", "markup in every name, as JSON", json_of(markup_definition("markup-json")), "accepted", "api",
         media="application/json"),
]


def table() -> list[Case]:
    """Every row: each text row once as a file for `accord validate`, once as an API body."""
    return [*ROWS, *(replace(c, way="api") for c in ROWS if isinstance(c.input, bytes)), *API_ONLY]


def rows(way: str) -> list[Case]:
    return [c for c in table() if c.way == way]


# ---------------------------------------------------------------------- figures


def figures(results: list[tuple[Case, Outcome]]) -> str:
    """The suite's figures: counts, the worst per way, then every input, slowest first."""
    if not results:
        return "no hostile inputs were run"
    refused = sum(o.refused for _, o in results)
    tracebacks = sum("Traceback" in o.output for _, o in results)
    server_errors = sum(c.way != "validate" and (o.status or 0) >= 500 for c, o in results)
    lines = [
        (f"{len(results)} tried, {refused} refused, {len(results) - refused} accepted, {tracebacks} tracebacks, "
         f"{server_errors} HTTP 5xx"),
        ("validate: one `accord validate` process per input (start-up included), under RLIMIT_AS 256 MB; "
         "memory is its peak RSS"),
        "api: one request to the app under uvicorn in this process (memory not measured per request)",
    ]
    for way in sorted({c.way for c, _ in results}):
        mine = [(c, o) for c, o in results if c.way == way]
        slowest = max(mine, key=lambda r: r[1].seconds)
        line = f"  {way}: {len(mine)} inputs, worst time {slowest[1].seconds:.2f} s ({slowest[0].name})"
        cpu = [(c, o) for c, o in mine if o.cpu_seconds is not None]
        if cpu:
            busiest = max(cpu, key=lambda r: r[1].cpu_seconds or 0)
            fastest = min(cpu, key=lambda r: r[1].cpu_seconds or 0)
            line += (f", worst CPU {busiest[1].cpu_seconds:.2f} s ({busiest[0].name}; "
                     f"start-up alone is about {fastest[1].cpu_seconds:.2f} s)")
        measured = [(c, o) for c, o in mine if o.max_rss_kb is not None]
        if measured:
            biggest = max(measured, key=lambda r: r[1].max_rss_kb or 0)
            line += f", worst memory {(biggest[1].max_rss_kb or 0) / 1024:.0f} MB ({biggest[0].name})"
        lines.append(line)
    lines.append(f"  {'way':8} {'class':19} {'input':44} {'result':8} {'status':>6} {'time':>6} {'CPU':>6} {'memory':>6}")
    for case, o in sorted(results, key=lambda r: (r[0].way, -r[1].seconds)):
        cpu_time = f"{o.cpu_seconds:.2f}s" if o.cpu_seconds is not None else "-"
        memory = f"{o.max_rss_kb / 1024:.0f}MB" if o.max_rss_kb is not None else "-"
        result = "refused" if o.refused else "accepted"
        lines.append(f"  {case.way:8} {case.cls[:19]:19} {case.name[:44]:44} {result:8} {o.status!s:>6} "
                     f"{o.seconds:5.2f}s {cpu_time:>6} {memory:>6}")
    return "\n".join(lines)
