"""The API's interactive docs (Swagger UI served from this app, no CDN) and what the schema
shows of definitions: the sample as the example body, the definition's JSON Schema."""

from __future__ import annotations

import json
import logging
from importlib.util import find_spec
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from definitions.loader import DefinitionError, parse
from definitions.schema import PartnershipDefinition

log = logging.getLogger("accord.api")

DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
SAMPLE = Path(__file__).resolve().parents[3] / "definitions" / "samples" / "public-sector-it-modernisation.yaml"


def example(kind: Literal["json", "yaml"]) -> dict[str, Any]:
    """The sample definition as the request body's example (shown in the docs), if it is there."""
    try:
        text = SAMPLE.read_text(encoding="utf-8")
        value: Any = text if kind == "yaml" else parse(text, str(SAMPLE)).model_dump(mode="json", exclude_none=True)
    except (OSError, DefinitionError):
        return {}
    return {"example": value}


def add_definition_schema(schema: dict[str, Any]) -> None:
    """The start endpoint reads its body itself (JSON or YAML): put the definition's JSON
    Schema into the components its request body refers to."""
    definition = PartnershipDefinition.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in definition.pop("$defs", {}).items():
        components.setdefault(name, sub)
    components["PartnershipDefinition"] = definition


_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Accord API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">
</head><body><div id="swagger-ui"></div>
<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>
<script src="{root}/docs/init.js"></script>
</body></html>
"""
_DOCS_INIT = """window.ui = SwaggerUIBundle({url: %s, dom_id: "#swagger-ui", deepLinking: true,
  persistAuthorization: false, tryItOutEnabled: false});
"""


def install(api: FastAPI) -> None:
    """Swagger UI from the files fastapi-offline ships (no CDN: this page loads nothing from elsewhere)."""
    spec = find_spec("fastapi_offline")
    assets = Path(spec.origin).parent / "static" if spec and spec.origin else None
    if assets is None or not (assets / "swagger-ui-bundle.js").exists():
        log.warning("fastapi-offline is not installed: no interactive API docs (the schema is still served)")
        return
    api.mount("/docs/assets", StaticFiles(directory=assets), name="docs-assets")

    @api.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(_DOCS_PAGE.format(root=root), headers={"Content-Security-Policy": DOCS_CSP})

    @api.get("/docs/init.js", include_in_schema=False)
    async def docs_init(request: Request) -> Response:
        url = json.dumps(f"{request.scope.get('root_path', '')}/openapi.json")
        return Response(_DOCS_INIT % url, media_type="text/javascript")
