"""The keys prices are looked up by: a provider's name and a UTC day.

Spans name providers in several conventions' spellings and carry times in several types;
these functions bring both to the form price rows use, for one value or for columns.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from typing import Any

__all__ = ["day_series", "key_triples", "normalize_provider", "to_day"]

# Spellings of a provider seen in the conventions (OpenInference llm.provider/llm.system,
# OTel gen_ai.system and gen_ai.provider.name, LiteLLM prefixes), to the names rows use.
_PROVIDER_ALIASES: dict[str, str] = {
    "mistralai": "mistral",
    "mistral_ai": "mistral",
    "aws": "bedrock",
    "aws.bedrock": "bedrock",
    "aws_bedrock": "bedrock",
    "amazon": "bedrock",
    "amazon_bedrock": "bedrock",
    "amazon-bedrock": "bedrock",
    "bedrock_converse": "bedrock",
    "gemini": "google",
    "gcp.gemini": "google",
    "gcp.gen_ai": "google",
    "gcp.vertex_ai": "google",
    "google_genai": "google",
    "google-genai": "google",
    "google_ai_studio": "google",
    "vertex": "google",
    "vertexai": "google",
    "vertex_ai": "google",
    "google_vertexai": "google",
    "x.ai": "xai",
    "x_ai": "xai",
    "x-ai": "xai",
    "together_ai": "together",
    "togetherai": "together",
    "together.ai": "together",
    "fireworks_ai": "fireworks",
    "fireworks-ai": "fireworks",
    "fireworks.ai": "fireworks",
}

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def normalize_provider(provider: str | None) -> str | None:
    """Return the name price rows use for a provider (``"aws.bedrock"`` -> ``"bedrock"``)."""
    if provider is None:
        return None
    name = str(provider).strip().lower()
    if not name:
        return None
    return _PROVIDER_ALIASES.get(name, name)


def to_day(at: object = None) -> date:
    """Return the UTC calendar day of a moment.

    Args:
        at: A ``date``; a ``datetime`` (naive ones are taken as UTC; pandas ``Timestamp``
            is one); a ``numpy.datetime64``; an ``int`` of nanoseconds since the Unix epoch
            (the span model's time unit); an ISO ``YYYY-MM-DD...`` string; or ``None`` for
            today.

    Returns:
        The day.

    Raises:
        TypeError: When ``at`` is none of those.
    """
    if at is None:
        return datetime.now(timezone.utc).date()
    if isinstance(at, datetime):
        if at.tzinfo is not None:
            at = at.astimezone(timezone.utc)
        return at.date()
    if isinstance(at, date):
        return at
    if isinstance(at, str):
        return to_day(datetime.fromisoformat(at.strip()))
    if type(at).__name__ == "datetime64":  # numpy, without importing it
        return to_day(int(at.astype("datetime64[ns]").astype("int64")))  # type: ignore[attr-defined]
    if isinstance(at, int) or hasattr(at, "__index__"):
        return (_EPOCH + timedelta(microseconds=at.__index__() // 1000)).date()
    raise TypeError(f"cannot take a day from {at!r}; pass a date, a datetime or nanoseconds")


def key_triples(keys: Any) -> Iterable[tuple[str | None, str | None, date]]:
    """Yield ``(model_name, provider, day)`` from tuples, a DataFrame or an Arrow table."""
    if hasattr(keys, "to_pylist"):  # pyarrow.Table
        records: Iterable[Any] = ((r["model_name"], r["provider"], r["day"]) for r in keys.to_pylist())
    elif hasattr(keys, "itertuples"):  # pandas.DataFrame
        records = zip(keys["model_name"], keys["provider"], keys["day"], strict=True)
    else:
        records = keys
    for model_name, provider, day in records:
        yield (
            model_name if isinstance(model_name, str) else None,
            provider if isinstance(provider, str) else None,  # NaN and None alike
            to_day(day),
        )


def day_series(times: Any, count: int) -> Any:
    """Return UTC midnights (datetime64[ns], no zone) for ``times``."""
    import pandas as pd

    if times is None:
        today = pd.Timestamp(datetime.now(timezone.utc).date())
        return pd.Series([today] * count, dtype="datetime64[ns]")
    series = pd.Series(list(times))
    if pd.api.types.is_integer_dtype(series) or pd.api.types.is_float_dtype(series):
        stamps = pd.to_datetime(series, unit="ns", utc=True)
    else:
        stamps = pd.to_datetime(series, utc=True)
    return stamps.dt.tz_convert(None).dt.normalize().astype("datetime64[ns]")
