"""Loading whole UTC days from a market-data source, for the source tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timezone
from typing import Any

from liq._sources._common import MarketData


def load_days(
    loader: Callable[..., MarketData], symbol: str, interval: str, first: date, end: date, **kwargs: Any
) -> MarketData:
    """Call ``loader`` (``load_live``, ``load_archive``, …) for the UTC days from ``first`` until ``end``.

    Parameters
    ----------
    loader : callable
        A source's ``load_*(symbol, interval, start, end, **kwargs)`` function.
    symbol, interval : str
        Passed on as they are.
    first, end : date
        The range is ``[first 00:00 UTC, end 00:00 UTC)``.
    **kwargs
        Passed on as they are (``now=``, ``cache_dir=``, ``live=``, …).

    Returns
    -------
    MarketData
        What ``loader`` returns.
    """
    start_at = datetime.combine(first, time(), timezone.utc)
    end_at = datetime.combine(end, time(), timezone.utc)
    return loader(symbol, interval, start_at, end_at, **kwargs)
