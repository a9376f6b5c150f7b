"""The operator's override of the price guard, set in the Dagster UI launchpad.

Bound with ``configure_at_launch()`` and every field defaulted, so scheduled and CLI runs
need no configuration and behave as if there were no override. To publish a change the
guard blocked, re-launch the provider's run with::

    resources:
      price_guard_override:
        config:
          accept_models: ["openai/gpt-5"]      # or accept_all: true
          reason: "OpenAI cut GPT-5 prices on 2026-11-20 (pricing page)"
          accepted_by: "jane.doe"

Only offending models that are listed (or every change, with ``accept_all``) are accepted;
the change log (``price_changes``) records ``accepted_by``, ``accept_reason`` and the run id.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dagster import ConfigurableResource
from pydantic import Field

from pricing_pipeline.pricing.guard import GuardOverride, GuardThresholds, evaluate, offending_models
from pricing_pipeline.pricing.records import PriceRecord
from pricing_pipeline.settings import settings
from pricing_pipeline.store.database import Acceptance

OVERRIDE_RESOURCE_KEY = "price_guard_override"


class PriceGuardOverride(ConfigurableResource):
    """Accept price changes the price guard blocks, for this run only (mandatory reason)."""

    accept_models: list[str] = Field(
        default=[], description="Model ids (as the provider spells them) whose flagged change is accepted."
    )
    accept_all: bool = Field(
        default=False, description="Accept every flagged change of this provider run (and mark all its changes accepted)."
    )
    reason: str = Field(default="", description="Why the flagged prices are right (mandatory when accepting).")
    accepted_by: str = Field(default="", description="Who accepts them (mandatory when accepting).")

    def decision(self) -> GuardOverride:
        return GuardOverride(
            accept_models=frozenset(m.strip() for m in self.accept_models if m.strip()),
            accept_all=self.accept_all,
            reason=self.reason.strip(),
            accepted_by=self.accepted_by.strip(),
        )



# One instance, bound where it is used (``published_prices`` and the guard checks) rather than
# in Definitions, so that materializing the sync assets needs no extra resource and every
# run without launchpad configuration runs with no override.
OVERRIDE_RESOURCE = PriceGuardOverride.configure_at_launch()
GUARD_RESOURCE_DEFS = {OVERRIDE_RESOURCE_KEY: OVERRIDE_RESOURCE}


def guard_acceptances(
    override: GuardOverride,
    published: Mapping[str, PriceRecord],
    snapshot: Iterable[PriceRecord],
    thresholds: GuardThresholds | None = None,
) -> dict[str, Acceptance]:
    """What the publish records as accepted: the offending models the override accepts, or,
    with ``accept_all``, every model of the run (the store marks those that changed)."""
    if not override.active:
        return {}
    problem = override.problem()
    if problem:
        raise ValueError(problem)
    snapshot = list(snapshot)
    acceptance = Acceptance(accepted_by=override.accepted_by, reason=override.reason)
    if override.accept_all:
        return {model_id: acceptance for model_id in {r.model_id for r in snapshot} | set(published)}
    offenders = offending_models(evaluate(published, snapshot, thresholds or settings().guard_thresholds))
    return {model_id: acceptance for model_id in sorted(offenders) if override.accepts(model_id)}
