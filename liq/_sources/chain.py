"""One interface over every market-data source, with the automatic fallback chain.

``load_market_data(..., source="auto")`` tries live Binance first, then the Binance public data archive, then
the built-in sample, and records every step it skipped as a :class:`Fallback` whose ``reason`` a page can
show word for word. Asking for one source by name never falls back: that source either delivers or raises
one of the :mod:`liq._errors` types.

Choice made for invalid symbols: with ``source="auto"`` an unknown symbol raises
:class:`~liq._errors.InvalidSymbolError` instead of quietly showing a different market, because no source
has data for it. A page that would rather show something can catch that error and call
``load_market_data(sample_symbols()[0], ..., source="sample")`` itself, telling the user it did so.

Nothing here reads the clock except at the boundary: ``now`` is a parameter whose default is "now, UTC".
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from .._errors import DataValidationError, GeoBlockedError, InvalidSymbolError, NoDataError, SourceError
from ._common import (
    SOURCE_LABELS,
    SOURCES,
    Fallback,
    LoadResult,
    ProgressFn,
    check_request,
    say,
)
from .archive import load_archive
from .live import load_live
from .sample import load_sample

__all__ = ["load_market_data"]

log = logging.getLogger(__name__)


def load_market_data(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    source: str = "auto",
    *,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    cache_dir: str | Path | None = None,
) -> LoadResult:
    """Load candles (and open interest when available) for ``[start, end)`` from one source or the chain.

    Parameters
    ----------
    symbol : str
        Binance USDⓈ-M perpetual, e.g. ``"BTCUSDT"``.
    interval : {"1m", "5m", "15m", "1h", "4h", "1d"}
        Candle interval.
    start, end : datetime
        Tz-aware; ``end`` is exclusive.
    source : {"auto", "live", "archive", "sample"}
        ``"auto"`` tries live, then the archive, then the built-in sample, and records each fallback.
        A named source never falls back: it raises instead.
    progress : callable(str), optional
        Receives short status messages such as ``"Fetching klines 3/5 pages…"``.
    now : datetime, optional
        The current time (tz-aware). Defaults to the clock; pass it explicitly in tests.
    cache_dir : str or Path, optional
        Folder for the archive's disk cache (default: ``$LIQ_CACHE_DIR`` or ``~/.cache/liq-heatmap``).

    Returns
    -------
    LoadResult
        ``.data`` is the :class:`MarketData`; ``.fallbacks`` lists the sources skipped, with reasons.

    Raises
    ------
    InvalidSymbolError
        The symbol does not exist (any source, including ``"auto"``; see the module docstring). With
        ``"auto"`` every other failure of live or the archive, expected or not, moves on to the next source.
    GeoBlockedError, NetworkError, RateLimitError, NoDataError, SourceError
        From a named source; from ``"auto"`` only when every source failed.
    DataValidationError
        Bad interval, range or source name.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> res = load_market_data("BTCUSDT", "1h", datetime(2024, 12, 1, tzinfo=timezone.utc),
    ...                        datetime(2024, 12, 3, tzinfo=timezone.utc), source="sample")
    >>> res.data.source, res.data.interval, len(res.data.candles), res.fallbacks
    ('sample', '1h', 48, [])
    """
    if source not in SOURCES:
        raise DataValidationError(f"Unknown source {str(source)[:40]!r}; choose one of {', '.join(SOURCES)}.")
    req = check_request(symbol, interval, start, end, now)
    sym, iv, now_dt = req.symbol, req.interval, req.now.to_pydatetime()
    s, e = req.start.to_pydatetime(), req.end.to_pydatetime()

    if source == "live":
        return LoadResult(load_live(sym, iv, s, e, progress=progress, now=now_dt))
    if source == "archive":
        return LoadResult(load_archive(sym, iv, s, e, progress=progress, now=now_dt, cache_dir=cache_dir))
    if source == "sample":
        return LoadResult(load_sample(sym, iv, s, e))

    failures: list[tuple[str, str]] = []
    try:
        return LoadResult(load_live(sym, iv, s, e, progress=progress, now=now_dt))
    except InvalidSymbolError:
        raise
    except Exception as exc:  # auto must still show data when a source breaks unexpectedly
        failures.append(("live", _failure_text("live", exc)))
        say(progress, "Live Binance unavailable; trying the Binance public archive…")

    try:
        data = load_archive(sym, iv, s, e, progress=progress, now=now_dt, cache_dir=cache_dir)
    except Exception as exc:  # same: fall back to the built-in sample
        failures.append(("archive", _failure_text("archive", exc)))
        say(progress, "Binance archive unavailable; using the built-in sample…")
    else:
        last_day = data.candles["open_time"].iloc[-1].date().isoformat()
        return LoadResult(data, _fallbacks(failures, f"Showing archive data up to {last_day}."))

    try:
        data = load_sample(sym, iv, s, e)
    except InvalidSymbolError as exc:
        reasons = " ".join(text for _, text in failures)
        raise NoDataError(f"No source could deliver {sym}. {reasons} {exc}") from None
    return LoadResult(data, _fallbacks(failures, f"Showing the built-in sample instead: {data.note}"))


def _fallbacks(failures: list[tuple[str, str]], showing: str) -> list[Fallback]:
    """Turn (source, failure text) pairs into Fallbacks; the last one also says what is shown instead."""
    out = [Fallback(src, text) for src, text in failures[:-1]]
    src, text = failures[-1]
    out.append(Fallback(src, f"{text} {showing}"))
    return out


def _failure_text(source: str, exc: Exception) -> str:
    """One sentence saying which source failed and why, for the page to show.

    Errors of our own types carry a message written for users. Anything else is a fault in a source (or a
    library under it); ``auto`` still falls back, and the text names the error so it can be reported.
    """
    if source == "live" and isinstance(exc, GeoBlockedError):
        return "Live Binance unavailable here (HTTP 451: restricted location)."
    name = SOURCE_LABELS[source]
    if isinstance(exc, SourceError):
        return f"{name} unavailable: {exc}"
    log.error("%s failed unexpectedly; falling back", name, exc_info=exc)
    return (
        f"{name} failed unexpectedly ({type(exc).__name__}); the details are in the server log. "
        "This looks like a bug; please report it."
    )
