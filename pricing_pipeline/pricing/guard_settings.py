"""What the price guard is configured with: its thresholds (defaults sized on the real
recordings, each overridable from the environment) and an operator's override of one sync run.

:meth:`GuardThresholds.from_env` reads ``PRICING_GUARD_<FIELD>`` overrides (e.g.
``PRICING_GUARD_MAX_JUMP_RATIO=20``). :class:`GuardOverride` accepts offenders of one sync run:
listed models or all, always with a reason and a name, which the change log records.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

ENV_PREFIX = "PRICING_GUARD_"


@dataclass(frozen=True)
class GuardThresholds:
    max_jump_ratio: Decimal = Decimal(10)
    max_token_price: Decimal = Decimal(1000)  # USD per 1M tokens
    min_token_price: Decimal = Decimal("0.0001")  # USD per 1M tokens, for non-zero prices
    max_unit_price: Decimal = Decimal(50)  # USD per request / per image
    max_input_output_ratio: Decimal = Decimal(50)
    max_output_input_ratio: Decimal = Decimal(500)
    max_cache_read_input_ratio: Decimal = Decimal(10)
    max_tier_drop_ratio: Decimal = Decimal(10)
    max_tier_rise_ratio: Decimal = Decimal(500)
    # Mass change, sized on the real day-over-day recordings: OpenRouter (22 days, 336-400
    # models) adds 0-2 and removes 0-6 models on most days, but +29 (8%) on 07-28, -32 (9.5%)
    # on 07-31 and +63 (18.6%) on 08-07; an 18-day gap adds up to 75 (22%), a 21-day gap 77
    # (22.5%). models.dev 06-09 → 06-10: 16 added, 28 removed of 5,153. Additions above 30%
    # and removals above 20% of the established models (and more than 10 models) are held as
    # a group: the rest of the snapshot publishes.
    max_added_ratio: Decimal = Decimal("0.3")
    max_removed_ratio: Decimal = Decimal("0.2")
    min_mass_change_models: Decimal = Decimal(10)
    # A catalog replaced (wrong endpoint, another provider's list): more than half of the
    # established models gone *and* more unknown models than half of them added. Cannot be
    # judged per model: blocks the whole snapshot.
    catalog_replaced_ratio: Decimal = Decimal("0.5")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> GuardThresholds:
        """Defaults, overridden by ``PRICING_GUARD_<FIELD>`` variables (positive numbers); the
        settings (settings.py) pass the process environment."""
        values: dict[str, Decimal] = {}
        for f in dataclasses.fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if name in environ:
                try:
                    value = Decimal(environ[name].strip())
                except InvalidOperation:
                    raise ValueError(f"{name}={environ[name]!r} is not a number") from None
                if not value.is_finite() or value <= 0:
                    raise ValueError(f"{name}={environ[name]!r} must be a positive number")
                values[f.name] = value
        return cls(**values)


@dataclass(frozen=True)
class GuardOverride:
    """An operator's acceptance of offenders for one provider run.

    ``accept_models`` lists model ids to accept; ``accept_all`` accepts every offender (and
    marks every change of the run as accepted). Both need a ``reason`` and ``accepted_by``.
    """

    accept_models: frozenset[str] = field(default_factory=frozenset)
    accept_all: bool = False
    reason: str = ""
    accepted_by: str = ""

    @property
    def active(self) -> bool:
        return self.accept_all or bool(self.accept_models)

    def problem(self) -> str | None:
        """Why this override cannot be used, or None."""
        if not self.active:
            return None
        missing = [name for name in ("reason", "accepted_by") if not getattr(self, name).strip()]
        if missing:
            return (
                "the price guard override accepts "
                + ("all offenders" if self.accept_all else f"{len(self.accept_models)} model(s)")
                + f" but has no {' and no '.join(missing)}: an accepted price change must say who "
                "accepted it and why"
            )
        return None

    def accepts(self, model_id: str) -> bool:
        return self.problem() is None and (self.accept_all or model_id in self.accept_models)
