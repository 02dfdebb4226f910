"""Recorded liquidations beside the estimate: chart markers, and the levels real liquidations hit.

Markers
    :func:`aggregate_markers` groups events per (bar, price band, side), so a dense minute draws one marker
    instead of a pile. A price band is :data:`MARKER_BAND_PCT` percent wide (log-spaced: band ``k`` holds
    prices from ``(1 + b)^k`` up to ``(1 + b)^(k+1)``, with ``b`` the width as a fraction), which at 0.25 %
    is about $250 at $100,000. Each marker has the USD-weighted mean fill price, the side, the USD and the
    number of events.
Levels meet reality
    :func:`compare_with_recorded` says, for every level of an :class:`~liq.Estimate`, how much USD was recorded
    within its zone (its own part of it, when the zone holds several levels: :func:`level_ranges`) during the
    shown window and when; and for every swept cluster, the USD recorded in its bins
    while it was swept, beside the estimated USD. A fill price counts when it lies within the zone (or the
    cluster's bins) widened by :data:`MATCH_PAD_PCT` percent on each side: a liquidation fills a little beyond
    the price that triggered it.

The stream is a lower bound (:data:`LOWER_BOUND_NOTE`): read every recorded figure as "at least".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._errors import DataValidationError
from .._sources._common import utc_ns
from .events import RecordedEvents

__all__ = [
    "LOWER_BOUND_NOTE",
    "MARKER_BAND_PCT",
    "MATCH_PAD_PCT",
    "Markers",
    "RecordedVsEstimated",
    "aggregate_markers",
    "compare_with_recorded",
    "level_ranges",
]

#: Width of a marker's price band, percent of the price.
MARKER_BAND_PCT = 0.25
#: A recorded fill price matches a zone or swept cluster within this many percent beyond its edges.
MATCH_PAD_PCT = 0.1
#: What every recorded figure means, in plain words.
LOWER_BOUND_NOTE = (
    "Recorded liquidations are a lower bound. Binance's public stream reports at most one liquidation per "
    "symbol per second (the last one of that second), so when many positions are closed at once, in a cascade "
    "above all, most of them never appear. Read every recorded amount as “at least this much”."
)

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_NS = 1_000_000_000
_MAX_CELLS = 4_000_000  # events × ranges compared at once (memory of one boolean block)


@dataclass(frozen=True)
class Markers:
    """Recorded events grouped per (bar, price band, side), as the chart draws them.

    Attributes
    ----------
    frame : DataFrame
        One row per marker, by bar time then price: ``bar_time_s`` (the bar's open, UTC epoch seconds),
        ``side`` ("long" / "short"), ``price`` (USD-weighted mean fill price), ``price_low``, ``price_high``
        (the extreme fills), ``notional_usd``, ``count``, ``first_time_s``, ``last_time_s`` (first and last
        event, epoch seconds).
    band_pct : float
        Width of a price band, percent.
    events_shown : int
        Events that fell on a bar.
    events_outside : int
        Events before the first bar, after the last one, or in a missing bar.
    """

    frame: pd.DataFrame
    band_pct: float
    events_shown: int
    events_outside: int

    @property
    def notional_usd(self) -> float:
        """Recorded USD over all markers."""
        return float(self.frame["notional_usd"].sum())


_MARKER_COLUMNS = (
    "bar_time_s",
    "side",
    "price",
    "price_low",
    "price_high",
    "notional_usd",
    "count",
    "first_time_s",
    "last_time_s",
)


def _bar_of(t_s: I64, bar_times_s: I64, interval_s: int) -> I64:
    """Index of the bar holding each time, −1 outside the bars (or in a missing one)."""
    idx = np.searchsorted(bar_times_s, t_s, side="right") - 1
    ok = idx >= 0
    ok[ok] &= t_s[ok] < bar_times_s[idx[ok]] + interval_s
    return np.where(ok, idx, -1)


def aggregate_markers(
    events: pd.DataFrame,
    bar_times_s: npt.ArrayLike,
    interval_s: int,
    *,
    band_pct: float = MARKER_BAND_PCT,
) -> Markers:
    """Group ``events`` into one marker per (bar, price band, side).

    Parameters
    ----------
    events : DataFrame
        :data:`liq._check.events.LIQUIDATION_COLUMNS` (one symbol).
    bar_times_s : array of int
        Open time of each bar, UTC epoch seconds, increasing (the chart's bars).
    interval_s : int
        Length of a bar, seconds.
    band_pct : float
        Width of a price band, percent of the price (see the module docstring).

    Returns
    -------
    Markers

    Examples
    --------
    >>> ev = pd.DataFrame({"time": pd.to_datetime([0, 30, 70], unit="s", utc=True), "side": ["long"] * 3,
    ...                    "price": [100.0, 100.1, 100.0], "notional_usd": [1000.0, 3000.0, 500.0]})
    >>> m = aggregate_markers(ev, [0, 60], 60)
    >>> m.frame[["bar_time_s", "price", "notional_usd", "count"]].to_dict("records")
    [{'bar_time_s': 0, 'price': 100.075, 'notional_usd': 4000.0, 'count': 2}, {'bar_time_s': 60, 'price': 100.0, 'notional_usd': 500.0, 'count': 1}]
    """
    if not (math.isfinite(band_pct) and band_pct > 0):
        raise DataValidationError(f"The marker band width is a positive percentage, not {band_pct!r}.")
    bars = np.asarray(bar_times_s, dtype=np.int64)
    if len(bars) == 0 or len(events) == 0:
        return Markers(_empty_markers(), float(band_pct), 0, int(len(events)))
    t_ns = utc_ns(events["time"])
    bar = _bar_of(t_ns // _NS, bars, int(interval_s))
    keep = bar >= 0
    price = events["price"].to_numpy(dtype=np.float64)[keep]
    usd = events["notional_usd"].to_numpy(dtype=np.float64)[keep]
    long = (events["side"].to_numpy(dtype=object) == "long")[keep]
    band = np.floor(np.log(price) / math.log1p(band_pct / 100.0)).astype(np.int64)
    frame = _group(bar[keep], long, band, price, usd, t_ns[keep])
    frame["bar_time_s"] = bars[frame["bar_time_s"].to_numpy(dtype=np.int64)]
    return Markers(frame, float(band_pct), int(keep.sum()), int((~keep).sum()))


def _group(bar: I64, long: npt.NDArray[np.bool_], band: I64, price: F64, usd: F64, t_ns: I64) -> pd.DataFrame:
    """Sums and extremes per (bar, side, band), by bar then price (``bar_time_s`` holds the bar index)."""
    if len(bar) == 0:
        return _empty_markers()
    order = np.lexsort((band, long, bar))
    bar, band, t_ns = bar[order], band[order], t_ns[order]
    long, price, usd = long[order], price[order], usd[order]
    new = np.r_[True, (np.diff(bar) != 0) | (np.diff(long.astype(np.int8)) != 0) | (np.diff(band) != 0)]
    starts = np.flatnonzero(new)
    usd_sum = np.add.reduceat(usd, starts)
    frame = pd.DataFrame(
        {
            "bar_time_s": bar[starts],
            "side": np.where(long[starts], "long", "short").astype(object),
            "price": np.add.reduceat(price * usd, starts) / usd_sum,
            "price_low": np.minimum.reduceat(price, starts),
            "price_high": np.maximum.reduceat(price, starts),
            "notional_usd": usd_sum,
            "count": np.diff(np.r_[starts, len(bar)]).astype(np.int64),
            "first_time_s": np.minimum.reduceat(t_ns, starts) // _NS,
            "last_time_s": np.maximum.reduceat(t_ns, starts) // _NS,
        }
    )
    return frame.sort_values(["bar_time_s", "price"], kind="stable").reset_index(drop=True)


def _empty_markers() -> pd.DataFrame:
    dtypes = {"side": object, "price": np.float64, "price_low": np.float64, "price_high": np.float64}
    dtypes |= {"notional_usd": np.float64}
    return pd.DataFrame({c: pd.Series([], dtype=dtypes.get(c, np.int64)) for c in _MARKER_COLUMNS})


# --------------------------------------------------------------------------------------------------------
# levels meet reality
# --------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Ranges:
    """Queries: a side, a price range and a time range [t0, t1) in ns."""

    long: npt.NDArray[np.bool_]
    low: F64
    high: F64
    t0: I64
    t1: I64


@dataclass(frozen=True)
class _Matched:
    usd: F64
    count: I64
    first_ns: I64  # int64 max when none
    last_ns: I64  # int64 min when none


def _match(ev: pd.DataFrame, q: _Ranges) -> _Matched:
    """USD, count and first/last time of the events inside each query (blocks of events keep memory bounded)."""
    m = len(q.low)
    usd, count = np.zeros(m), np.zeros(m, dtype=np.int64)
    first = np.full(m, np.iinfo(np.int64).max)
    last = np.full(m, np.iinfo(np.int64).min)
    t, p = utc_ns(ev["time"]), ev["price"].to_numpy(dtype=np.float64)
    e_usd = ev["notional_usd"].to_numpy(dtype=np.float64)
    e_long = ev["side"].to_numpy(dtype=object) == "long"
    step = max(1, _MAX_CELLS // max(m, 1))
    for a in range(0, len(t), step):
        sl = slice(a, a + step)
        hit = (
            (e_long[sl, None] == q.long[None, :])
            & (p[sl, None] >= q.low[None, :])
            & (p[sl, None] <= q.high[None, :])
            & (t[sl, None] >= q.t0[None, :])
            & (t[sl, None] < q.t1[None, :])
        )
        usd += e_usd[sl] @ hit
        count += hit.sum(axis=0)
        first = np.minimum(first, np.where(hit, t[sl, None], np.iinfo(np.int64).max).min(axis=0))
        last = np.maximum(last, np.where(hit, t[sl, None], np.iinfo(np.int64).min).max(axis=0))
    return _Matched(usd, count, first, last)


def _times_or_nat(ns: I64, found: npt.NDArray[np.bool_]) -> pd.Series:
    return pd.Series(pd.to_datetime(np.where(found, ns, 0), utc=True)).where(found)


def _covered(t0: I64, t1: I64, windows: pd.DataFrame) -> npt.NDArray[np.bool_]:
    """Whether each [t0, t1) overlaps a window in which the recording listened."""
    if len(windows) == 0:
        return np.zeros(len(t0), dtype=bool)
    w0, w1 = utc_ns(windows["start"]), utc_ns(windows["end"])
    return np.asarray(((w0[None, :] < t1[:, None]) & (w1[None, :] >= t0[:, None])).any(axis=1), dtype=bool)


@dataclass(frozen=True)
class RecordedVsEstimated:
    """What the recording says about an estimate's levels and swept clusters.

    Attributes
    ----------
    levels : DataFrame
        One row per row of ``Estimate.levels``, same order: ``price, side, zone_low, zone_high`` (the level),
        ``range_low, range_high`` (its own part of the zone, :func:`level_ranges`), ``recorded_usd``,
        ``recorded_count`` (events of that side within that range, padded by :data:`MATCH_PAD_PCT`, during the
        window), ``first_hit``, ``last_hit`` (UTC, NaT when none) and ``hit``.
    swept : DataFrame
        One row per row of ``Estimate.swept``, same order: ``side, price, bin_low, bin_high``,
        ``estimated_usd`` (the model's swept USD), ``recorded_usd``, ``recorded_count`` (events of that side in
        the bins, padded, from ``swept_first`` to the end of the ``swept_last`` candle; NaN when the recording
        was not listening then) and ``covered``.
    window_start, window_end : Timestamp
        The estimate's window: first candle open to last candle close (UTC).
    covered : bool
        Whether the recording listened at any time in the window.
    recorded_usd : float
        USD of all events in the window (both sides).
    source : str
        Where the events come from (:attr:`RecordedEvents.source`).
    note : str
        :data:`LOWER_BOUND_NOTE`.
    """

    levels: pd.DataFrame
    swept: pd.DataFrame
    window_start: pd.Timestamp
    window_end: pd.Timestamp
    covered: bool
    recorded_usd: float
    source: str
    note: str = LOWER_BOUND_NOTE


def _candle_ns(candles: pd.DataFrame) -> tuple[I64, int]:
    t = utc_ns(candles["open_time"])
    steps = np.diff(t)
    steps = steps[steps > 0]
    return t, int(np.median(steps)) if len(steps) else 60 * _NS


def _padded(low: Any, high: Any, pad_pct: float) -> tuple[F64, F64]:
    lo = np.asarray(low, dtype=np.float64) * (1 - pad_pct / 100.0)
    hi = np.asarray(high, dtype=np.float64) * (1 + pad_pct / 100.0)
    return lo, hi


def level_ranges(levels: pd.DataFrame) -> tuple[F64, F64]:
    """Each level's own part of its zone: the zone cut halfway between neighbouring levels of the same zone.

    A zone that holds several levels (split at valleys of the estimate) would otherwise credit every one of them
    with every liquidation in the whole zone.

    >>> lv = pd.DataFrame({"price": [96.0, 90.0, 80.0], "side": "long", "zone_low": [85.0, 85.0, 79.0],
    ...                    "zone_high": [98.0, 98.0, 81.0]})
    >>> [r.tolist() for r in level_ranges(lv)]
    [[93.0, 85.0, 79.0], [98.0, 93.0, 81.0]]
    """
    price = levels["price"].to_numpy(dtype=np.float64)
    low = levels["zone_low"].to_numpy(dtype=np.float64).copy()
    high = levels["zone_high"].to_numpy(dtype=np.float64).copy()
    zone = (
        levels["side"].astype(str)
        + "|"
        + levels["zone_low"].astype(str)
        + "|"
        + levels["zone_high"].astype(str)
    )
    code = pd.factorize(zone)[0]
    order = np.lexsort((price, code))
    same = code[order][1:] == code[order][:-1]  # neighbours (by price) within one zone
    mid = (price[order][1:] + price[order][:-1]) / 2
    lower, upper = order[:-1][same], order[1:][same]  # the two levels of each neighbouring pair
    high[lower] = np.minimum(high[lower], mid[same])
    low[upper] = np.maximum(low[upper], mid[same])
    return low, high


def _level_rows(levels: pd.DataFrame, ev: pd.DataFrame, t0: int, t1: int, pad_pct: float) -> pd.DataFrame:
    out = levels[["price", "side", "zone_low", "zone_high"]].reset_index(drop=True).copy()
    own_low, own_high = level_ranges(out)
    out["range_low"], out["range_high"] = own_low, own_high
    lo, hi = _padded(own_low, own_high, pad_pct)
    n = len(out)
    q = _Ranges(out["side"].to_numpy(dtype=object) == "long", lo, hi, np.full(n, t0), np.full(n, t1))
    m = _match(ev, q)
    found = m.count > 0
    out["recorded_usd"] = m.usd
    out["recorded_count"] = m.count
    out["first_hit"] = _times_or_nat(m.first_ns, found)
    out["last_hit"] = _times_or_nat(m.last_ns, found)
    out["hit"] = found
    return out


def _swept_rows(swept: pd.DataFrame, rec: RecordedEvents, candle_ns: int, pad_pct: float) -> pd.DataFrame:
    out = swept[["side", "price", "bin_low", "bin_high"]].reset_index(drop=True).copy()
    out["estimated_usd"] = swept["notional_usd"].to_numpy(dtype=np.float64)
    lo, hi = _padded(out["bin_low"], out["bin_high"], pad_pct)
    t0 = utc_ns(swept["swept_first"])
    t1 = utc_ns(swept["swept_last"]) + candle_ns
    m = _match(rec.events, _Ranges(out["side"].to_numpy(dtype=object) == "long", lo, hi, t0, t1))
    covered = _covered(t0, t1, rec.windows)
    out["recorded_usd"] = np.where(covered, m.usd, np.nan)
    out["recorded_count"] = np.where(covered, m.count, 0).astype(np.int64)
    out["covered"] = covered
    return out


def compare_with_recorded(
    est: Any, recorded: RecordedEvents, *, pad_pct: float = MATCH_PAD_PCT
) -> RecordedVsEstimated:
    """Which levels recorded liquidations hit, and recorded USD beside each swept cluster's estimate.

    Parameters
    ----------
    est : Estimate
        Its ``candles``, ``levels`` (with ``zone_low``, ``zone_high``) and ``swept`` (with ``bin_low``,
        ``bin_high``, ``swept_first``, ``swept_last``, ``notional_usd``) are read.
    recorded : RecordedEvents
        Events of the estimate's symbol and the windows the recording listened in.
    pad_pct : float
        How far beyond a zone's or cluster's edges (percent) a fill still counts.

    Returns
    -------
    RecordedVsEstimated
    """
    candle_t, candle_ns = _candle_ns(est.candles)
    t0, t1 = int(candle_t[0]), int(candle_t[-1]) + candle_ns
    ev = recorded.events
    in_window = ev[(utc_ns(ev["time"]) >= t0) & (utc_ns(ev["time"]) < t1)] if len(ev) else ev
    covered = bool(_covered(np.array([t0]), np.array([t1]), recorded.windows)[0])
    return RecordedVsEstimated(
        levels=_level_rows(est.levels, in_window, t0, t1, pad_pct),
        swept=_swept_rows(est.swept, recorded, candle_ns, pad_pct),
        window_start=pd.Timestamp(t0, unit="ns", tz="UTC"),
        window_end=pd.Timestamp(t1, unit="ns", tz="UTC"),
        covered=covered,
        recorded_usd=float(in_window["notional_usd"].sum()),
        source=recorded.source,
    )
