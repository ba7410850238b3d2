"""python -m accord.web: the web app on ACCORD_WEB_HOST:ACCORD_WEB_PORT."""

import asyncio
import contextlib
import logging

from accord.config import Settings
from accord.web.server import serve


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(Settings()))


if __name__ == "__main__":
    main()
