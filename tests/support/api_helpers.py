"""The HTTP API's test fixtures: two keys (ops, viewer), and ``api``: the whole web app over
httpx's ASGI transport with a real worker on the dev server (registered in conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest

from accord import apikeys
from accord.client import Accord
from accord.config import Settings
from accord.web.app import create_app
from definitions.schema import PartnershipDefinition

OPS_KEY, OPS = apikeys.create("deploy-bot", "ops")
VIEWER_KEY, VIEWER = apikeys.create("dashboard", "viewer")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Api:
    accord: Accord
    settings: Settings
    http: httpx.AsyncClient

    async def get(self, path: str, key: str | None = OPS_KEY, **kw) -> httpx.Response:
        return await self.http.get(f"/api/v1{path}", headers=bearer(key) if key else {}, **kw)

    async def post(self, path: str, key: str | None = OPS_KEY, **kw) -> httpx.Response:
        headers = {**(bearer(key) if key else {}), **kw.pop("headers", {})}
        return await self.http.post(f"/api/v1{path}", headers=headers, **kw)

    async def start(self, definition: PartnershipDefinition) -> str:
        r = await self.post("/partnerships", json=definition.model_dump(mode="json"))
        assert r.status_code == 201, r.text
        workflow_id = r.json()["workflow_id"]
        self.accord.started.append(workflow_id)  # accord_for records and terminates it afterwards
        return workflow_id


@pytest.fixture
def api_settings(settings: Settings) -> Settings:
    settings.api_keys = [OPS, VIEWER]
    return settings


@pytest.fixture
async def api(dev_env, api_settings, accord_for) -> AsyncIterator[Api]:
    from tests.support.workers import running_worker

    accord = accord_for(dev_env)
    async with running_worker(dev_env.client, api_settings):
        app = create_app(api_settings, accord)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://accord.test") as http:
            yield Api(accord, api_settings, http)
