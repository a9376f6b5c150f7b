"""The operator's override of the price guard for one whole sync run, set in the Dagster UI
launchpad. (A held model is usually decided without a re-fetch: ``pricing-pipeline accept`` or
``price_review_job``; this override publishes a fresh fetch's flagged changes at once.)

Bound with ``configure_at_launch()`` and every field defaulted, so scheduled and CLI runs
need no configuration and behave as if there were no override. To publish the flagged
changes of a run, launch the provider's run with::

    resources:
      price_guard_override:
        config:
          accept_models: ["openai/gpt-5"]      # or accept_all: true
          reason: "OpenAI cut GPT-5 prices on 2026-11-20 (pricing page)"
          accepted_by: "jane.doe"

Only flagged models that are listed (or every change, with ``accept_all``) are accepted;
the change log (``price_changes``) records ``accepted_by``, ``accept_reason`` and the run id.
"""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import Field

from pricing_pipeline.pricing.guard_settings import GuardOverride

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

