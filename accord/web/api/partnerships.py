"""Partnerships: list them, start one from its definition, read one, complete a task, close one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from temporalio.exceptions import WorkflowAlreadyStartedError

from accord.client import Listed, workflow_id_for
from accord.models import Channel, CloseRequest, Stage, TaskCompletion
from accord.web.api.bodies import (
    ACTING,
    ActionResult,
    CloseBody,
    DefinitionProblems,
    PartnershipId,
    Problem,
    Started,
    Status,
    TaskId,
    TaskResult,
)
from accord.web.api.calls import Api, workflow_id
from accord.web.api.calls import router as router_base
from accord.web.api.docs import example
from accord.web.api.guards import Caller, ops_key


def router(api: Api) -> APIRouter:
    routes = router_base()

    @routes.get("/partnerships", tags=["partnerships"], response_model=list[Listed], summary="List partnerships")
    async def list_partnerships(
        stage: Annotated[Stage | None, Query(description="Only partnerships in this stage.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> list[Listed]:
        rows = await api.ask(api.accord().list(stage=stage.value if stage else None, limit=limit))
        return rows

    @routes.post(
        "/partnerships", tags=["partnerships"], status_code=201, response_model=Started, summary="Start a partnership from its definition",
        responses={**ACTING, 409: {"model": Problem, "description": "It is already running."},
                   413: {"model": Problem, "description": "The definition is too large."},
                   415: {"model": Problem, "description": "Send JSON or YAML."},
                   422: {"model": DefinitionProblems, "description": "Every problem in the definition, as `accord validate` reports them."}},
        openapi_extra={"requestBody": {"required": True, "description": (
            "The definition: JSON (`application/json`), or the YAML file's text (`application/yaml`)."), "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/PartnershipDefinition"},
                                 **example("json")},
            "application/yaml": {"schema": {"type": "string"}, **example("yaml")},
        }}},
    )
    async def start_partnership(request: Request, key: Caller = Depends(ops_key)) -> Started | JSONResponse:
        definition = await api.read_definition(request)
        if isinstance(definition, JSONResponse):
            return definition
        try:
            wf = await api.ask(api.accord().start(definition))
        except WorkflowAlreadyStartedError:
            raise HTTPException(409, f"{workflow_id_for(definition.id)} is already running.") from None
        api.acting(key, "start", wf)
        return Started(workflow_id=wf, partnership_id=definition.id, ui_url=api.settings.workflow_ui_url(wf))

    @routes.get("/partnerships/{partnership}", tags=["partnerships"], response_model=Status, summary="A partnership's state")
    async def get_partnership(partnership: PartnershipId) -> Status:
        wf = workflow_id(partnership)
        state = await api.ask(api.accord().state(wf))
        return Status(workflow_id=wf, ui_url=api.settings.workflow_ui_url(wf), state=state)

    @routes.post("/partnerships/{partnership}/tasks/{task}/complete", tags=["tasks"], response_model=ActionResult, responses=ACTING,
                 summary="Record a task's result on behalf of its owner")
    async def complete_task(partnership: PartnershipId, task: TaskId, body: TaskResult,
                            key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"complete {task} as {body.actor}", partnership, api.accord().complete_task,
                             TaskCompletion(task_id=task, actor=body.actor, result=body.result, channel=Channel.api))

    @routes.post("/partnerships/{partnership}/close", tags=["partnerships"], response_model=ActionResult, responses=ACTING,
                 summary="Close a launched partnership: open tasks are waived, escalations withdrawn, the record archived")
    async def close(partnership: PartnershipId, body: CloseBody, key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"close as {body.actor}", partnership, api.accord().close,
                             CloseRequest(actor=body.actor, reason=body.reason, channel=Channel.api))

    return routes
