"""The provider registry: adapter name -> adapter. Its keys are the Dagster partitions and
the only values the ``provider`` metric label takes."""

from __future__ import annotations

from pricing_pipeline.providers import chutes, deepinfra, litellm, modelsdev, novita, openrouter, together, vercel
from pricing_pipeline.providers.base import ProviderAdapter

ADAPTERS: dict[str, ProviderAdapter] = {
    adapter.name: adapter
    for adapter in (
        openrouter.ADAPTER,
        vercel.ADAPTER,
        deepinfra.ADAPTER,
        together.ADAPTER,
        chutes.ADAPTER,
        novita.ADAPTER,
        modelsdev.ADAPTER,
        litellm.ADAPTER,
    )
}

PROVIDER_NAMES: tuple[str, ...] = tuple(ADAPTERS)


def get_adapter(name: str) -> ProviderAdapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise KeyError(f"unknown provider {name!r}; known: {', '.join(PROVIDER_NAMES)}") from None
