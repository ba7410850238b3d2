"""Run a command under a memory limit, as an unprivileged user, and report its own peak memory.

    python -m tests.support.confined REPORT.json LIMIT_BYTES -- command args...

The command inherits stdin, stdout and stderr; REPORT.json gets its exit status, wall time,
CPU time and peak resident memory (``ru_maxrss`` from ``os.wait4``). Why a launcher: the
``ru_maxrss`` of a child forked from the test process counts the pages it shares with that
process until ``exec`` (about 200 MB under pytest); forked from this small process, the
figure is the command's own, plus this launcher's 10 MB or so at most.

As root, the command runs as ``nobody``: a file without read permission must really be
unreadable to it, as it is to any user. A command still running after STUCK_SECONDS is
killed (reported as status -9): nothing a test runs may wait for ever.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

NOBODY = 65534
STUCK_SECONDS = 60


def main(argv: list[str]) -> int:
    report, limit, separator, *command = argv
    assert separator == "--" and command, __doc__

    def confine() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)

    started = time.perf_counter()
    child = subprocess.Popen(command, preexec_fn=confine)  # noqa: PLW1509 - no other thread runs yet
    watchdog = threading.Timer(STUCK_SECONDS, child.kill)
    watchdog.start()
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        watchdog.cancel()
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here, by wait4
    Path(report).write_text(json.dumps({
        "status": child.returncode,
        "seconds": time.perf_counter() - started,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "max_rss_kb": usage.ru_maxrss,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
