"""What a model is, and the unit each of its prices is in: one resolver for every adapter.

**The model type** comes from the upstream's own metadata, read through one vocabulary per
upstream (:data:`TOGETHER_TYPES`, :data:`VERCEL_TYPES`, :data:`NOVITA_TYPES`,
:data:`LITELLM_MODES`; DeepInfra and Chutes list chat models only) or from the
modalities (:func:`type_from_modalities`: OpenRouter ``architecture.input_modalities`` /
``output_modalities``, models.dev ``modalities``). Types are :data:`records.MODEL_TYPES`;
``audio`` is text to speech, ``transcription`` speech to text.

**The unit.** Most upstreams name a price by what it bills (``prompt``, ``input``) and
document it per token, which holds for token-billed types. For the media types it does not:

==============  ===============================================  ================================
type            generic input/output token prices                unit recorded
==============  ===============================================  ================================
audio (TTS)     input priced, no positive output price           USD per 1M characters
audio (TTS)     output (or audio output) priced too (speech LLM) USD per 1M tokens
transcription   output priced too (``gpt-4o-transcribe``)        USD per 1M tokens
transcription   input alone (per minute or per second)           unit ambiguous: unknown
image, video    input and output both priced (token generators)  USD per 1M tokens (all)
image, video    one alone, or an image/video output price alone  unit ambiguous: unknown
any media type  zero (a placeholder)                             dropped; see never free
==============  ===============================================  ================================

A unit is taken from evidence, never guessed: a price whose unit the upstream does not
establish is recorded as ``unit_ambiguous`` with no price (usd None), and its reason is
reported with the unknown keys (``input: unit ambiguous (...)``). Keys that state their unit
(LiteLLM's ``input_cost_per_second``, ``output_cost_per_image``, ...) are taken as stated:
adapters whose keys name their units say so (``keys_name_units``) and only the next rule
applies to them.

**Never free.** A model of a media type is never published at a zero token price: a zero
token price on it is a placeholder (Together lists every image and video model at 0/0,
OpenRouter its video models), dropped, and the model gets the unknown price of its real unit
(:data:`REAL_UNIT`) when nothing else prices it. Only the upstream marking it free (a
``:free`` model id) keeps a zero. Enforced once, for every adapter, in
``ProviderAdapter.parse`` (:func:`apply_unit_rules`).
"""

from __future__ import annotations

from collections.abc import Iterable

from pricing_pipeline.pricing.records import UNIT_AMBIGUOUS, USD_PER_MTOK, PriceComponent, PriceRecord

MEDIA_TYPES = frozenset({"image", "video", "audio", "transcription"})
# The unknown price a media model gets when its upstream lists none in its real unit.
REAL_UNIT = {
    "image": ("image_output", "usd_per_image"),
    "video": ("video_output", "usd_per_second"),
    "audio": ("input", "usd_per_mchar"),
    "transcription": ("input", UNIT_AMBIGUOUS),  # per minute or per second: not established
}
FREE_SUFFIX = ":free"

# --- the model type from the upstream's metadata ------------------------------------------

TOGETHER_TYPES = {
    "chat": "chat", "language": "chat", "code": "chat", "embedding": "embedding",
    "rerank": "rerank", "moderation": "moderation", "transcribe": "transcription",
    "audio": "audio", "image": "image", "video": "video",
}
VERCEL_TYPES = {
    "language": "chat", "embedding": "embedding", "image": "image", "video": "video",
    "speech": "audio", "transcription": "transcription", "reranking": "rerank", "rerank": "rerank",
}
NOVITA_TYPES = {
    "chat": "chat", "embedding": "embedding", "rerank": "rerank", "image": "image", "audio": "audio", "video": "video",
}
LITELLM_MODES = {
    "chat": "chat", "completion": "chat", "responses": "chat", "realtime": "chat",
    "embedding": "embedding", "image_generation": "image", "image_edit": "image",
    "video_generation": "video", "audio_speech": "audio", "audio_transcription": "transcription",
    "rerank": "rerank", "moderation": "moderation", "ocr": "ocr", "search": "search",
}


def type_from_word(vocabulary: dict[str, str], word: object) -> str | None:
    """An upstream's type word in our types: ``other`` for a word the vocabulary lacks, None
    when the upstream gives none."""
    return vocabulary.get(word, "other") if isinstance(word, str) else None


def type_from_modalities(outputs: object, inputs: object = None, speech: str = "audio") -> str | None:
    """The type from output (and input) modalities. ``speech`` is the upstream's word for text
    to speech: OpenRouter says ``speech`` (its ``audio`` is a conversational model answering
    in audio, billed per token like chat), models.dev says ``audio``. Text out of audio alone
    in is transcription."""
    if not isinstance(outputs, list) or not outputs:
        return None
    outs = set(outputs)
    ins = set(inputs) if isinstance(inputs, list) else set()
    if "transcription" in outs:
        return "transcription"
    if speech in outs and "text" not in outs:
        return "audio"
    if "video" in outs:
        return "video"
    if outs & {"embeddings", "embedding"}:
        return "embedding"
    if "rerank" in outs:
        return "rerank"
    if "text" in outs:
        return "transcription" if outs == {"text"} and ins == {"audio"} else "chat"
    if "image" in outs:
        return "image"
    if "audio" in outs:
        return "chat"
    return "other"


# --- the unit of each price -----------------------------------------------------------------


def _token(components: Iterable[PriceComponent], names: tuple[str, ...], positive: bool) -> bool:
    return any(
        c.component in names and c.unit == USD_PER_MTOK and c.usd is not None and (c.usd > 0) == positive
        for c in components
    )


def resolve_units(model_type: str | None, components: list[PriceComponent]) -> tuple[list[PriceComponent], list[str]]:
    """Generic input/output token prices (an upstream's ``prompt`` / ``input`` read per token)
    in the unit ``model_type`` bills, and the reasons of prices left unknown. See the table
    in the module docs."""
    if model_type not in MEDIA_TYPES:
        return components, []
    priced_in = _token(components, ("input",), True)
    priced_out = _token(components, ("output",), True)
    if model_type == "audio":
        if priced_out or _token(components, ("audio_output",), True):
            return components, []
        return [_retyped(c, "usd_per_mchar") if _generic(c, "input") and c.usd else c for c in components], []
    if model_type == "transcription":
        lone = ("input",) if priced_in and not priced_out else ()
        why = "transcription model with an input price and no output price: per minute or per second"
    else:  # image, video: a price outside an input/output token pair (a per-image or per-second figure?)
        lone = () if priced_in and priced_out else tuple(
            name for name in ("input", "output", "image_output", "video_output")
            if _token(components, (name,), True)
        )
        why = f"{model_type} model priced by {' and '.join(lone)} alone, without an input and output token pair"
    if not lone:
        return components, []
    # zeros stay: never_free drops them (or keeps them on a model marked free)
    out = [_retyped(c, UNIT_AMBIGUOUS) if c.component in lone and c.unit == USD_PER_MTOK and c.usd else c
           for c in components]
    return out, [f"{name}: unit ambiguous ({why})" for name in lone]


def _generic(c: PriceComponent, name: str) -> bool:
    return c.component == name and c.unit == USD_PER_MTOK


def _retyped(c: PriceComponent, unit: str) -> PriceComponent:
    usd = None if unit == UNIT_AMBIGUOUS else c.usd
    return PriceComponent(c.component, unit, usd, c.min_context_tokens, c.window, c.service_tier, c.region)


def never_free(record: PriceRecord, components: list[PriceComponent]) -> list[PriceComponent]:
    """A media model's components without zero token prices (placeholders), with the unknown
    price of its real unit when nothing else prices it. A ``:free`` model keeps its zeros."""
    if record.model_type not in MEDIA_TYPES or record.model_id.endswith(FREE_SUFFIX):
        return components
    zeros = [c for c in components if c.unit == USD_PER_MTOK and c.usd is not None and not c.usd]
    if not zeros:
        return components
    kept = [c for c in components if c not in zeros]
    if not any(c.usd is None or c.usd > 0 for c in kept):
        component, unit = REAL_UNIT[record.model_type]
        if not any((c.component, c.unit) == (component, unit) for c in kept):
            kept.append(PriceComponent(component, unit, None))
    return kept


def apply_unit_rules(record: PriceRecord, keys_name_units: bool) -> PriceRecord:
    """The record with :func:`resolve_units` (unless the adapter's keys name their units)
    and :func:`never_free` applied; the record itself when neither changes anything."""
    if record.model_type not in MEDIA_TYPES or record.variable_pricing:
        return record
    components = list(record.components())
    notes: list[str] = []
    if not keys_name_units:
        components, notes = resolve_units(record.model_type, components)
    components = never_free(record, components)
    if not notes and components == list(record.components()):
        return record
    return PriceRecord.from_components(
        record.provider, record.model_id, components,
        upstream_provider=record.upstream_provider, upstream_model_id=record.upstream_model_id,
        upstream_tag=record.upstream_tag, quantization=record.quantization,
        model_type=record.model_type, raw=record.raw, unknown_keys=tuple(record.unknown_keys) + tuple(notes),
    )
