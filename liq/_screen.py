"""The levels screener: one row of headline levels per pair, over many USDⓈ-M perpetuals at once.

Each pair is loaded with :func:`liq.load_market_data` and estimated with :func:`liq.estimate`; its row reads
the nearest significant levels, the USD within ±1/2/5 %, the asymmetry (all from ``Estimate.summary``), the
largest level (``Estimate.levels``) and what was swept in the last 24 hours (``Estimate.swept_per_candle``).
A pair that fails (unknown, delisted, no data) becomes a row holding its reason; the others go on.

The work is bounded: at most :data:`SCREEN_WORKERS` pairs are computed at once, and a refresh from live
Binance spends at most :data:`LIVE_WEIGHT_BUDGET` of Binance's request weight (:func:`live_request_weight`
says what one pair costs); pairs beyond the budget are rows that say so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from ._config import ModelConfig
from ._engine import Estimate, estimate
from ._errors import LiqError, SourceError
from ._sources._common import INTERVAL_MS, MarketData, check_symbol
from ._sources.chain import load_market_data
from ._sources.live import KLINES_PAGE_LIMIT, OI_HISTORY_DAYS, OI_PAGE_LIMIT, BinanceLive
from ._sources.sample import sample_symbols

__all__ = [
    "COLUMN_LABELS",
    "LIVE_WEIGHT_BUDGET",
    "PCT_COLUMNS",
    "PRICE_COLUMNS",
    "USD_COLUMNS",
    "SCREEN_COLUMNS",
    "SCREEN_TIME_COLUMNS",
    "SCREEN_WORKERS",
    "Screen",
    "ScreenRow",
    "default_pairs",
    "live_request_weight",
    "pairs_to_screen",
    "row_from_estimate",
    "screen",
    "screen_pair",
    "top_perpetuals",
]

log = logging.getLogger(__name__)

#: Pairs computed at the same time (the engine is numpy-bound; more threads than cores only queue).
SCREEN_WORKERS = 4
#: Heatmap columns a screener estimate keeps (the screener reads levels, not the picture).
SCREEN_TIME_COLUMNS = 50
#: Most request weight one live refresh may spend: half of Binance's 2,400 per minute per IP.
LIVE_WEIGHT_BUDGET = 1200
#: Weight of ``GET /fapi/v1/ticker/24hr`` for every symbol at once, and of ``GET /fapi/v1/exchangeInfo``.
TICKER_24H_WEIGHT = 40
EXCHANGE_INFO_WEIGHT = 1
#: Weight of one klines request with ``limit=KLINES_PAGE_LIMIT`` (1,500 > 1,000 costs 10).
KLINES_PAGE_WEIGHT = 10
#: How far back "swept recently" looks.
SWEPT_WINDOW = pd.Timedelta(hours=24)


@dataclass(frozen=True)
class ScreenRow:
    """One pair's headline levels; every USD figure is an estimate. ``error`` is set when the pair failed.

    Distances are signed percentages of the last price (negative below it). ``nearest_distance_pct`` is the
    smaller absolute distance of the two nearest levels (NaN when the pair has none).
    """

    symbol: str
    error: str | None = None
    source: str = ""
    last_price: float = math.nan
    last_time: pd.Timestamp | None = None
    long_price: float = math.nan
    long_distance_pct: float = math.nan
    long_usd: float = math.nan
    short_price: float = math.nan
    short_distance_pct: float = math.nan
    short_usd: float = math.nan
    long_usd_1pct: float = math.nan
    long_usd_2pct: float = math.nan
    long_usd_5pct: float = math.nan
    short_usd_1pct: float = math.nan
    short_usd_2pct: float = math.nan
    short_usd_5pct: float = math.nan
    asymmetry: float = math.nan
    largest_side: str = ""
    largest_price: float = math.nan
    largest_distance_pct: float = math.nan
    largest_usd: float = math.nan
    swept_long_usd_24h: float = math.nan
    swept_short_usd_24h: float = math.nan
    nearest_distance_pct: float = math.nan
    note: str = ""


#: The columns of :meth:`Screen.frame`, in order (the fields of :class:`ScreenRow`).
SCREEN_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(ScreenRow))

#: Column headings for people (the app's table and the CLI's table), by column; the rest are not shown.
COLUMN_LABELS: dict[str, str] = {
    "symbol": "Pair",
    "last_price": "Last price",
    "long_price": "Long level below",
    "long_distance_pct": "Long dist. %",
    "long_usd": "Long est. USD",
    "short_price": "Short level above",
    "short_distance_pct": "Short dist. %",
    "short_usd": "Short est. USD",
    "long_usd_1pct": "Longs ±1 %",
    "long_usd_2pct": "Longs ±2 %",
    "long_usd_5pct": "Longs ±5 %",
    "short_usd_1pct": "Shorts ±1 %",
    "short_usd_2pct": "Shorts ±2 %",
    "short_usd_5pct": "Shorts ±5 %",
    "asymmetry": "Asymmetry",
    "largest_side": "Largest side",
    "largest_price": "Largest level",
    "largest_distance_pct": "Largest dist. %",
    "largest_usd": "Largest est. USD",
    "swept_long_usd_24h": "Longs swept 24h",
    "swept_short_usd_24h": "Shorts swept 24h",
    "error": "Problem",
}
#: Which columns hold prices, USD amounts and signed percentages (how each is written).
PRICE_COLUMNS = ("last_price", "long_price", "short_price", "largest_price")
USD_COLUMNS = tuple(c for c in SCREEN_COLUMNS if "usd" in c)
PCT_COLUMNS = ("long_distance_pct", "short_distance_pct", "largest_distance_pct", "nearest_distance_pct")


@dataclass(frozen=True)
class Screen:
    """The screener's result: one row per pair, in the order asked for."""

    rows: tuple[ScreenRow, ...]
    interval: str
    source: str
    notes: tuple[str, ...] = ()

    def frame(self) -> pd.DataFrame:
        """The rows as a DataFrame with :data:`SCREEN_COLUMNS` (failed pairs keep NaN figures)."""
        return pd.DataFrame([asdict(r) for r in self.rows], columns=list(SCREEN_COLUMNS))

    @property
    def failed(self) -> tuple[ScreenRow, ...]:
        """The rows of the pairs that could not be screened."""
        return tuple(r for r in self.rows if r.error is not None)


def _largest(levels: pd.DataFrame) -> dict[str, Any]:
    if levels.empty:
        return {}
    top = levels.iloc[int(levels["notional_usd"].to_numpy().argmax())]
    return {
        "largest_side": str(top["side"]),
        "largest_price": float(top["price"]),
        "largest_distance_pct": float(top["distance_pct"]),
        "largest_usd": float(top["notional_usd"]),
    }


def _swept_24h(est: Estimate) -> dict[str, float]:
    per = est.swept_per_candle
    recent = per[per["open_time"] > est.last_time - SWEPT_WINDOW]
    return {
        "swept_long_usd_24h": float(recent["long_usd"].sum()),
        "swept_short_usd_24h": float(recent["short_usd"].sum()),
    }


def row_from_estimate(symbol: str, est: Estimate, data: MarketData | None = None) -> ScreenRow:
    """The screener row of one estimate.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> import liq
    >>> d = liq.load_market_data("SOLUSDT", "5m", datetime(2026, 1, 20, tzinfo=timezone.utc),
    ...                          datetime(2026, 1, 27, tzinfo=timezone.utc), source="sample").data
    >>> row = row_from_estimate("SOLUSDT", liq.estimate(d.candles, symbol="SOLUSDT"), d)
    >>> row.error is None, row.long_price < row.last_price < row.short_price
    (True, True)
    """
    s = est.summary
    out: dict[str, Any] = {"symbol": symbol, "last_price": s.last_price, "last_time": est.last_time}
    for side, level in (("long", s.nearest_below), ("short", s.nearest_above)):
        if level is not None:
            out |= {
                f"{side}_price": level.price,
                f"{side}_distance_pct": level.distance_pct,
                f"{side}_usd": level.notional_usd,
            }
    for pct in (1, 2, 5):
        out[f"long_usd_{pct}pct"] = float(s.long_usd_within.get(pct, math.nan))
        out[f"short_usd_{pct}pct"] = float(s.short_usd_within.get(pct, math.nan))
    near = [abs(lv.distance_pct) for lv in (s.nearest_below, s.nearest_above) if lv is not None]
    out["nearest_distance_pct"] = min(near) if near else math.nan
    out["asymmetry"] = s.asymmetry
    out |= _largest(est.levels) | _swept_24h(est)
    if data is not None:
        out |= {"source": data.source, "note": data.note}
    return ScreenRow(**out)


def screen_pair(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    source: str = "auto",
    config: ModelConfig | None = None,
    *,
    now: datetime | None = None,
    cache_dir: str | Path | None = None,
) -> ScreenRow:
    """Load and estimate one pair; a failure is a row with its reason (never an exception).

    Expected failures (:class:`LiqError`: unknown symbol, no data, network) keep their message; anything else
    is logged with its traceback and the row says the pair could not be computed.
    """
    try:
        sym = check_symbol(symbol)
        data = load_market_data(sym, interval, start, end, source, now=now, cache_dir=cache_dir).data
        cfg = (config or ModelConfig()).with_(time_columns=SCREEN_TIME_COLUMNS)
        est = estimate(data.candles, open_interest=data.open_interest, config=cfg, symbol=sym)
    except LiqError as exc:
        return ScreenRow(symbol=str(symbol)[:40], error=str(exc))
    except Exception:  # one broken pair must not stop the others
        log.exception("Screening %s failed unexpectedly", str(symbol)[:40])
        return ScreenRow(symbol=str(symbol)[:40], error="This pair could not be computed (unexpected error).")
    return row_from_estimate(sym, est, data)


PairFn = Callable[[str], ScreenRow]


def live_request_weight(interval: str, span: timedelta) -> int:
    """Binance request weight of loading one pair from live for ``span`` of ``interval`` candles.

    Klines cost :data:`KLINES_PAGE_WEIGHT` a page of :data:`KLINES_PAGE_LIMIT`; open-interest history has
    its own limit (1,000 requests per 5 minutes) and no weight, so it is not counted here.

    Examples
    --------
    >>> from datetime import timedelta
    >>> live_request_weight("5m", timedelta(days=7)), live_request_weight("1h", timedelta(days=365))
    (20, 60)
    """
    candles = span / timedelta(milliseconds=INTERVAL_MS[interval])
    return KLINES_PAGE_WEIGHT * max(1, math.ceil(candles / KLINES_PAGE_LIMIT))


def oi_requests(interval: str, span: timedelta) -> int:
    """Open-interest history requests of one live pair (Binance keeps only the last 30 days)."""
    period = {"1m": "5m"}.get(interval, interval)
    kept = min(span, timedelta(days=OI_HISTORY_DAYS))
    return max(1, math.ceil(kept / timedelta(milliseconds=INTERVAL_MS[period]) / OI_PAGE_LIMIT))


def _budgeted(symbols: Sequence[str], source: str, interval: str, span: timedelta) -> int:
    """How many of ``symbols`` fit into one refresh's live weight budget (all of them off live)."""
    if source not in ("auto", "live"):
        return len(symbols)
    per = live_request_weight(interval, span)
    return max(1, (LIVE_WEIGHT_BUDGET - TICKER_24H_WEIGHT - EXCHANGE_INFO_WEIGHT) // per)


def screen(
    symbols: Sequence[str],
    interval: str,
    start: datetime,
    end: datetime,
    source: str = "auto",
    config: ModelConfig | None = None,
    *,
    workers: int = SCREEN_WORKERS,
    progress: Callable[[int, int, str], None] | None = None,
    now: datetime | None = None,
    cache_dir: str | Path | None = None,
    pair_fn: PairFn | None = None,
) -> Screen:
    """Screen many pairs with a bounded pool of workers; one row per pair, in the order given.

    Parameters
    ----------
    symbols : sequence of str
        Pairs to screen (repeats are dropped).
    interval, start, end, source
        As in :func:`liq.load_market_data`.
    config : ModelConfig, optional
        Model settings for every pair.
    workers : int
        Pairs computed at once, at most :data:`SCREEN_WORKERS` (the pool overlaps waiting for the network; the
        built-in sample, read from memory, is screened by one worker).
    progress : callable(done, total, symbol), optional
        Called in the calling thread after each pair finishes.
    pair_fn : callable(symbol) -> ScreenRow, optional
        Computes one pair instead of :func:`screen_pair` (the app passes a cached one).

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> res = screen(["BTCUSDT", "NOPEUSDT"], "1h", datetime(2026, 1, 20, tzinfo=timezone.utc),
    ...              datetime(2026, 1, 27, tzinfo=timezone.utc), source="sample")
    >>> [r.symbol for r in res.rows], res.failed[0].error[:30]
    (['BTCUSDT', 'NOPEUSDT'], 'The built-in sample has no NOP')
    """
    wanted = list(dict.fromkeys(str(s).strip().upper() for s in symbols if str(s).strip()))
    if not wanted:
        raise SourceError("No pairs to screen: give at least one symbol, e.g. BTCUSDT.")
    fits = _budgeted(wanted, source, interval, end - start)
    run, skipped = wanted[:fits], wanted[fits:]
    notes: list[str] = []
    if skipped:
        notes.append(
            f"{len(skipped)} pair(s) left out to stay within {LIVE_WEIGHT_BUDGET} of Binance's request weight "
            "per refresh; screen them in a second run or choose a shorter range."
        )

    def one(sym: str) -> ScreenRow:
        if pair_fn is not None:
            return pair_fn(sym)
        return screen_pair(sym, interval, start, end, source, config, now=now, cache_dir=cache_dir)

    rows: dict[str, ScreenRow] = {}
    # the sample is in memory: nothing waits for the network, and threads would only take turns at the GIL
    pool_size = 1 if source == "sample" else max(1, min(workers, SCREEN_WORKERS, len(run)))
    with ThreadPoolExecutor(max_workers=pool_size) as pool:
        futures = {pool.submit(one, sym): sym for sym in run}
        for done, fut in enumerate(as_completed(futures), start=1):
            rows[futures[fut]] = fut.result()
            if progress is not None:
                progress(done, len(run), futures[fut])
    for sym in skipped:
        rows[sym] = ScreenRow(
            symbol=sym, error="Left out of this refresh to respect Binance's request-weight limit."
        )
    return Screen(tuple(rows[s] for s in wanted), interval=interval, source=source, notes=tuple(notes))


def default_pairs() -> tuple[str, ...]:
    """The pairs screened when live volumes are unavailable: the built-in sample's ten perpetuals."""
    return sample_symbols()


def pairs_to_screen(source: str, top: int = 20, *, timeout_s: float = 5.0) -> tuple[tuple[str, ...], str]:
    """The pairs a screen covers when the user named none, and a sentence saying where they came from.

    With ``source`` ``"auto"`` or ``"live"``: the ``top`` perpetuals by 24h quote volume; when live Binance
    cannot answer, ``"auto"`` falls back on :func:`default_pairs` (``"live"`` raises). Other sources use
    :func:`default_pairs`.
    """
    fallback = default_pairs()
    offline = f"the built-in sample's {len(fallback)} pairs ({', '.join(fallback)})"
    if source not in ("auto", "live"):
        return fallback, f"Pairs: {offline}."
    try:
        return top_perpetuals(
            top, timeout_s=timeout_s
        ), f"Pairs: the {top} most traded perpetuals (24h volume)."
    except LiqError as exc:
        if source == "live":
            raise
        return fallback, f"Pairs: {offline}, because the 24h volumes could not be read ({exc})"


def _by_volume(tickers: object, perpetuals: frozenset[str], n: int) -> tuple[str, ...]:
    if not isinstance(tickers, list):
        raise SourceError("Binance's 24h tickers came back in an unexpected shape; try again in a minute.")
    volumes: dict[str, float] = {}
    for t in tickers:
        if isinstance(t, dict) and t.get("symbol") in perpetuals:
            try:
                volumes[str(t["symbol"])] = float(t.get("quoteVolume", "nan"))
            except (TypeError, ValueError):
                continue
    ranked = sorted((v, s) for s, v in volumes.items() if math.isfinite(v))
    return tuple(s for _, s in reversed(ranked))[:n]


def top_perpetuals(
    n: int = 20, *, timeout_s: float = 5.0, live: BinanceLive | None = None
) -> tuple[str, ...]:
    """The ``n`` USDⓈ-M perpetuals with the highest 24h quote volume (``GET /fapi/v1/ticker/24hr``).

    Costs :data:`TICKER_24H_WEIGHT` + :data:`EXCHANGE_INFO_WEIGHT` request weight (exchange info is cached).

    Raises
    ------
    GeoBlockedError, NetworkError, RateLimitError, SourceError
        When live Binance cannot be reached from here.
    """
    src = live if live is not None else BinanceLive(timeout_s=timeout_s)
    try:
        perpetuals = src.perpetual_symbols()
        tickers = src.call("reading the 24h volumes", src.client.futures_ticker)
    finally:
        if live is None:
            src.close()
    return _by_volume(tickers, perpetuals, max(1, int(n)))
