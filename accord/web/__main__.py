"""python -m accord.web: the web app on ACCORD_WEB_HOST:ACCORD_WEB_PORT."""

import asyncio
import contextlib
import logging
import sys

from accord.config import ConfigError, Settings
from accord.web.server import serve


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(Settings()))
    except ConfigError as exc:
        sys.exit(f"error: {exc}")


if __name__ == "__main__":
    main()
