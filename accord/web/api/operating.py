"""Operating: a participant's input to a review, a review's outcome, a metric's observation."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from accord.models import (
    ActionInput,
    Channel,
    MetricObservationInput,
    ReviewInputSubmission,
    ReviewOutcome,
)
from accord.web.api.bodies import (
    ACTING,
    ActionResult,
    MetricBody,
    MetricId,
    PartnershipId,
    ReviewId,
    ReviewInputBody,
    ReviewOutcomeBody,
)
from accord.web.api.calls import Api
from accord.web.api.calls import router as router_base
from accord.web.api.guards import Caller, ops_key


def router(api: Api) -> APIRouter:
    routes = router_base()

    @routes.post("/partnerships/{partnership}/reviews/{review}/inputs", tags=["reviews"], response_model=ActionResult,
                 responses=ACTING, summary="Send a participant's input to an open review")
    async def submit_review_input(partnership: PartnershipId, review: ReviewId, body: ReviewInputBody,
                                  key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"input to {review} of {body.stakeholder}", partnership, api.accord().submit_review_input,
                             ReviewInputSubmission(review_id=review, stakeholder=body.stakeholder, rag=body.rag, note=body.note,
                                               contribution=body.contribution, benefit=body.benefit, channel=Channel.api))

    @routes.post("/partnerships/{partnership}/reviews/{review}/outcome", tags=["reviews"], response_model=ActionResult,
                 responses=ACTING, summary="Record what a review decided: decisions, and actions (which become tasks)")
    async def record_review_outcome(partnership: PartnershipId, review: ReviewId, body: ReviewOutcomeBody,
                                    key: Caller = Depends(ops_key)) -> ActionResult:
        actions = [ActionInput(title=a.title, owner=a.owner, due_in_days=a.due_in_days) for a in body.actions]
        return await api.act(key, f"outcome of {review} as {body.actor}", partnership, api.accord().record_review_outcome,
                             ReviewOutcome(review_id=review, actor=body.actor, decisions=body.decisions, actions=actions,
                                       channel=Channel.api))

    @routes.post("/partnerships/{partnership}/metrics/{metric}/observations", tags=["metrics"], response_model=ActionResult,
                 responses=ACTING, summary="Record a metric's value now (before launch: its baseline)")
    async def record_metric(partnership: PartnershipId, metric: MetricId, body: MetricBody,
                            key: Caller = Depends(ops_key)) -> ActionResult:
        return await api.act(key, f"metric {metric} as {body.actor}", partnership, api.accord().record_metric,
                             MetricObservationInput(metric_id=metric, value=body.value, actor=body.actor, note=body.note,
                                                channel=Channel.api))

    return routes
