"""A worker-like process for tests/ops/test_storage_processes.py.

    python -m tests.support.claim_worker --sendgrid URL [--lease SECONDS] [--wait-for-go] KEY...

Opens Accord's state as a worker does (ACCORD_DATA_DIR, or ACCORD_DATABASE_URL), then sends
each send key through accord.storage.send_once, the exactly-once protocol the email
activity uses, with the real SendGrid client (pointed at tests/support/fake_sendgrid.py). With
--wait-for-go it prints "ready" and waits for a line on stdin first, so that two of them
start at once. One JSON line per key: its outcome, or "held" (another attempt had it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import timedelta
from functools import partial

from accord.config import Settings
from accord.mail.message import Message
from accord.mail.sendgrid_backend import SendGridMailer
from accord.storage import SendInProgress, open_storage, send_once


def message(send_key: str) -> Message:
    return Message(send_key=send_key, sender="Accord <accord@accord.example>", to_name="Bea", to_email="bea@beta.example",
                   subject="Please sign the MOU", html="<p>Please sign.</p>", text="Please sign.",
                   tags={"send_key": send_key, "workflow_id": send_key.split("/", 1)[0]})


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sendgrid", required=True)
    parser.add_argument("--lease", type=float, default=120.0)
    parser.add_argument("--wait-for-go", action="store_true")
    parser.add_argument("keys", nargs="+")
    args = parser.parse_args()
    mailer = SendGridMailer("SG.test-key.not-real", host=args.sendgrid, timeout=30)
    async with await open_storage(Settings()) as store:
        if args.wait_for_go:
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        for key in args.keys:
            try:
                outcome = await send_once(
                    store, key, "bea", holder=f"pid-{os.getpid()}", lease=timedelta(seconds=args.lease),
                    deliver=partial(mailer.send, message(key)), accepted=partial(mailer.already_accepted, key))
                result = {"key": key, "status": outcome.status, "message_id": outcome.message_id}
            except SendInProgress as exc:
                result = {"key": key, "status": "held", "holder": exc.entry.holder}
            print(json.dumps(result), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
