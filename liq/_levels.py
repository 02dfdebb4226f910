"""Levels, zones and the summary, derived from the alive positions at the last candle."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._config import ModelConfig

__all__ = [
    "LEVEL_COLUMNS",
    "ZONE_COLUMNS",
    "Level",
    "Summary",
    "build_levels",
    "build_summary",
    "cascade_rule",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

LEVEL_COLUMNS = (
    "price", "side", "notional_usd", "zone_low", "zone_high", "distance_pct", "approaches", "first_seen", "cascade",
)  # fmt: skip
ZONE_COLUMNS = ("side", "zone_low", "zone_high", "notional_usd", "levels")

#: Within-percent bands of the summary.
WITHIN_PCT = (1, 2, 5)
#: Asymmetry beyond which the reading names a direction.
ASYMMETRY_READING_THRESHOLD = 0.15
#: A cascade-risk chain must come within this many percent of the last price ...
CASCADE_REACH_PCT = 3.0
#: ... hold at least this many levels ...
CASCADE_MIN_LEVELS = 2
#: ... and together at least this share of the side's largest level's USD.
CASCADE_MIN_SHARE = 0.25
#: A valley between two peaks splits them into separate levels when it is below this share of the smaller peak.
PEAK_SPLIT_VALLEY = 0.6


@dataclass(frozen=True)
class Level:
    """One estimated liquidation level."""

    price: float
    side: str
    notional_usd: float
    distance_pct: float


@dataclass(frozen=True)
class Summary:
    """The numbers a trader reads first. All USD values are estimates.

    ``asymmetry`` is ``(short − long) / (short + long)`` within ±5 % of price: positive means more estimated
    short liquidations above price than long liquidations below (an upward pull), negative the opposite.
    """

    last_price: float
    nearest_above: Level | None
    nearest_below: Level | None
    long_usd_within: dict[int, float] = field(default_factory=dict)
    short_usd_within: dict[int, float] = field(default_factory=dict)
    asymmetry: float = math.nan
    reading: str = ""


def _runs(mask: npt.NDArray[np.bool_]) -> tuple[I64, I64]:
    """Start and end (exclusive) of each run of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(d == 1).astype(np.int64), np.flatnonzero(d == -1).astype(np.int64)


def _split_peaks(profile: F64, a: int, b: int) -> list[tuple[int, int]]:
    """Split the zone ``[a, b)`` into peaks at valleys clearly lower than both neighbouring peaks."""
    seg = profile[a:b]
    if len(seg) < 3:
        return [(a, b)]
    sm = np.convolve(np.concatenate((seg[:1], seg, seg[-1:])), [0.25, 0.5, 0.25], mode="valid")  # edge-padded
    left = np.concatenate([[-np.inf], sm[:-1]])
    right = np.concatenate([sm[1:], [-np.inf]])
    peaks = np.flatnonzero((sm >= left) & (sm > right))
    if len(peaks) < 2:
        return [(a, b)]
    cuts: list[int] = []
    last_peak = peaks[0]
    for p in peaks[1:]:
        v = last_peak + int(np.argmin(sm[last_peak : p + 1]))
        if sm[v] < PEAK_SPLIT_VALLEY * min(sm[last_peak], sm[p]):
            cuts.append(v)
            last_peak = p
        elif sm[p] > sm[last_peak]:
            last_peak = p
    edges = [0, *cuts, len(seg)]
    out = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if hi > lo:
            out.append((a + lo, a + hi))
    return out


def count_approaches(extreme: F64, start: int, price: float, side: str, approach_pct: float) -> int:
    """Times price came within ``approach_pct`` % of ``price`` without touching it, after ``start``.

    For a long level ``extreme`` is the candle lows, for a short level the highs. An approach counts once;
    the counter re-arms after price moves away by twice ``approach_pct``.

    Examples
    --------
    >>> lows = np.array([110.0, 100.3, 100.2, 103.0, 100.4, 99.0])
    >>> count_approaches(lows, 0, 100.0, "long", 0.5)
    2
    """
    x = extreme[start:]
    a = approach_pct / 100.0
    if side == "long":
        near = np.flatnonzero((x > price) & (x <= price * (1 + a)))
    else:
        near = np.flatnonzero((x < price) & (x >= price * (1 - a)))
    if near.size < 2:
        return int(near.size)
    # the first approach counts; a later one counts when price was far away since the one before it (a
    # candle that is near is never far, so each stretch between two near candles is looked at once)
    span = x[near[0] : near[-1]]
    far = span > price * (1 + 2 * a) if side == "long" else span < price * (1 - 2 * a)
    return 1 + int(np.count_nonzero(np.logical_or.reduceat(far, near[:-1] - near[0])))


@dataclass(frozen=True)
class _SideBins:
    """One side's alive positions on the level bins, and its profile. A position that cannot become a level is
    in the extra bin ``n_bins`` (after the profile's last), so no array of positions is copied to leave it out."""

    bin: I64
    price: F64
    usd: F64
    created: I64
    profile: F64


def _side_bins(
    name: str, price: F64, usd: F64, created: I64, lo: float, hi: float, n_bins: int, last_price: float
) -> _SideBins:
    x = price - lo
    x /= hi - lo
    x *= n_bins
    b = np.floor(x, out=x).astype(np.int64)
    # a position already through the last close (possible only for the last candle's own positions,
    # which no later candle has tested) is not a level price can still travel to
    keep = price < last_price if name == "long" else price > last_price
    keep &= usd > 0
    keep &= b.view(np.uint64) < n_bins  # 0 <= b < n_bins: a negative bin is a huge unsigned one
    if not keep.all():
        b[np.flatnonzero(~keep)] = n_bins
    # (the bins' sums are those of the kept positions alone, in the same order: bincount adds by index)
    prof = np.bincount(b, weights=usd, minlength=n_bins + 1)[:n_bins].astype(np.float64, copy=False)
    return _SideBins(b, price, usd, created, prof)


@dataclass
class _Rows:
    """Level and zone rows as columns (lists), in the order they are found."""

    levels: dict[str, list[object]] = field(default_factory=lambda: {k: [] for k in LEVEL_COLUMNS[:-1]})
    zones: dict[str, list[object]] = field(default_factory=lambda: {k: [] for k in ZONE_COLUMNS})


def _side_levels(
    rows: _Rows, name: str, sb: _SideBins, extreme: F64, last_price: float, config: ModelConfig
) -> None:
    """Append the zones and levels of one side to ``rows`` (``first_seen`` as a candle index)."""
    n_bins, prof = len(sb.profile), sb.profile
    top = float(prof.max(initial=0.0))
    if top <= 0:
        return
    thr = config.significance * top
    significant = np.zeros(n_bins + 1, dtype=bool)  # (the extra bin, of positions left out, is not)
    np.greater_equal(prof, thr, out=significant[:n_bins])
    starts, ends = _runs(significant[:n_bins])
    if not len(starts):
        return
    # the per-bin sums and extremes are read in significant bins only: made from their positions alone (in
    # the same order, so each bin's sum is the same)
    at = np.flatnonzero(significant.take(sb.bin))
    b, price = sb.bin.take(at), sb.price.take(at)
    pv = np.bincount(b, weights=sb.usd.take(at) * price, minlength=n_bins + 1)
    pmin = np.full(n_bins + 1, np.inf)
    pmax = np.full(n_bins + 1, -np.inf)
    cmin = np.full(n_bins + 1, np.iinfo(np.int64).max)
    np.minimum.at(pmin, b, price)
    np.maximum.at(pmax, b, price)
    np.minimum.at(cmin, b, sb.created.take(at))
    lv, zn = rows.levels, rows.zones
    for za, zb in zip(starts, ends, strict=True):
        zone_low, zone_high = float(pmin[za:zb].min()), float(pmax[za:zb].max())
        parts = _split_peaks(prof, int(za), int(zb))
        for key, value in zip(
            ZONE_COLUMNS, (name, zone_low, zone_high, float(prof[za:zb].sum()), len(parts)), strict=True
        ):
            zn[key].append(value)
        for pa, pb in parts:
            usd_l = float(prof[pa:pb].sum())
            if usd_l <= 0:
                continue
            px = float(pv[pa:pb].sum() / usd_l)
            c0 = int(cmin[pa:pb].min())
            row = (
                px, name, usd_l, zone_low, zone_high, (px / last_price - 1.0) * 100.0,
                count_approaches(extreme, c0 + 1, px, name, config.approach_pct), c0,
            )  # fmt: skip
            for key, value in zip(LEVEL_COLUMNS[:-1], row, strict=True):
                lv[key].append(value)


def build_levels(
    *,
    edges: F64,
    sides: dict[str, tuple[F64, F64, I64]],
    low: F64,
    high: F64,
    open_time: pd.Series,
    last_price: float,
    config: ModelConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Levels and zones from alive positions per side: ``(exact price, alive USD, creation candle)``.

    A bin is significant when its alive USD reaches ``config.significance`` × the largest bin of its side
    (each side gets its own levels, so a thin side still shows where its liquidations sit; the USD tells
    which side is heavier). Contiguous significant bins form a zone; each zone splits into levels at clear valleys. A level's
    price is the USD-weighted mean of the exact liquidation prices in it (not a bin centre). Long levels
    lie below ``last_price`` and short levels above it.
    """
    n_bins = len(edges) - 1
    lo, hi = float(edges[0]), float(edges[-1])
    per_side = {
        name: _side_bins(name, price, usd, created, lo, hi, n_bins, last_price)
        for name, (price, usd, created) in sides.items()
    }
    rows = _Rows()
    for name, sb in per_side.items():
        _side_levels(rows, name, sb, low if name == "long" else high, last_price, config)
    if not rows.levels["price"]:
        zone_records = [
            dict(zip(ZONE_COLUMNS, r, strict=True)) for r in zip(*rows.zones.values(), strict=True)
        ]
        return _empty(LEVEL_COLUMNS), pd.DataFrame(zone_records, columns=list(ZONE_COLUMNS))
    return _levels_frame(rows.levels, open_time, config.cascade_gap_pct, last_price), _zones_frame(rows.zones)


def descending_order(values: npt.NDArray[np.generic]) -> I64:
    """The row order ``DataFrame.sort_values(column, ascending=False)`` gives (pandas' quicksort on the reversed
    column, reversed back), so that ties keep the order pandas would give them. ``values`` as pandas sorts them
    (float64, or datetime64 for times: numpy sorts those with another algorithm than their int64 view).

    Examples
    --------
    >>> descending_order(np.array([1.0, 3.0, 2.0])).tolist()
    [1, 2, 0]
    """
    return np.arange(len(values))[::-1][values[::-1].argsort(kind="quicksort")][::-1]


def _levels_frame(
    cols: dict[str, list[object]], open_time: pd.Series, gap_pct: float, last_price: float
) -> pd.DataFrame:
    """The levels table, highest price first, built once from its columns."""
    price = np.asarray(cols["price"], dtype=np.float64)
    order = descending_order(price)
    out: dict[str, object] = {k: np.asarray(v)[order] for k, v in cols.items()}
    out["approaches"] = np.asarray(cols["approaches"], dtype=np.int64)[order]
    out["first_seen"] = open_time.array.take(np.asarray(cols["first_seen"], dtype=np.int64)[order])
    side = np.asarray(cols["side"], dtype=object)[order]
    out["side"] = pd.array(side, dtype="str")  # the frame's dtype for it, without inference
    out["cascade"] = _cascade_mask(price[order], side, np.asarray(out["notional_usd"]), gap_pct, last_price)
    return pd.DataFrame(out, copy=False)  # columns made for it, in LEVEL_COLUMNS order


def _zones_frame(cols: dict[str, list[object]]) -> pd.DataFrame:
    """The zones table, highest zone first."""
    order = descending_order(np.asarray(cols["zone_low"], dtype=np.float64))
    out: dict[str, object] = {k: np.asarray(v)[order] for k, v in cols.items()}
    out["side"] = pd.array(np.asarray(cols["side"], dtype=object)[order], dtype="str")  # no inference
    return pd.DataFrame(out, copy=False)  # ZONE_COLUMNS order


def _cascade_flags(levels: pd.DataFrame, gap_pct: float, last_price: float) -> npt.NDArray[np.bool_]:
    """Levels of a cascade risk a trader should act on.

    A chain is a run of same-side levels each within ``gap_pct`` % of the next (one liquidation's forced orders
    can push price into the next level). A chain is flagged when its nearest level is within
    :data:`CASCADE_REACH_PCT` % of the last price and it holds at least :data:`CASCADE_MIN_SHARE` of the side's
    largest level's USD; every level of a flagged chain is marked.
    """
    return _cascade_mask(
        levels["price"].to_numpy(dtype=np.float64),
        levels["side"].to_numpy(dtype=object),
        levels["notional_usd"].to_numpy(dtype=np.float64),
        gap_pct,
        last_price,
    )


def _cascade_mask(
    price_all: F64, side_all: npt.NDArray[np.object_], usd_all: F64, gap_pct: float, last_price: float
) -> npt.NDArray[np.bool_]:
    """:func:`_cascade_flags` on the levels' columns (sorted by price, descending)."""
    flags = np.zeros(len(price_all), dtype=bool)
    for side in ("long", "short"):
        idx = np.flatnonzero(side_all == side)
        if len(idx) < CASCADE_MIN_LEVELS:
            continue
        p, usd = price_all[idx], usd_all[idx]  # sorted by price, descending
        linked = np.abs(np.diff(p)) / np.minimum(p[1:], p[:-1]) * 100.0 <= gap_pct
        chain = np.concatenate([[0], np.cumsum(~linked)])
        for k in np.unique(chain):
            members = np.flatnonzero(chain == k)
            if len(members) < CASCADE_MIN_LEVELS:
                continue
            reach = np.min(np.abs(p[members] / last_price - 1.0)) * 100.0
            if reach <= CASCADE_REACH_PCT and usd[members].sum() >= CASCADE_MIN_SHARE * usd.max():
                flags[idx[members]] = True
    return flags


def cascade_rule(gap_pct: float) -> str:
    """The cascade-risk rule in plain words, with the numbers the model uses.

    Examples
    --------
    >>> cascade_rule(0.6)
    "a chain of same-side levels each within 0.6 % of the next, the nearest within 3 % of price, together holding at least 25 % of the side's largest level"
    """
    return (
        f"a chain of same-side levels each within {gap_pct:g} % of the next, the nearest within "
        f"{CASCADE_REACH_PCT:g} % of price, together holding at least {CASCADE_MIN_SHARE * 100:g} % of the "
        "side's largest level"
    )


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64") for c in columns})


def build_summary(
    *,
    last_price: float,
    levels: pd.DataFrame,
    long_prices: F64,
    long_usd: F64,
    short_prices: F64,
    short_usd: F64,
) -> Summary:
    """Nearest levels, USD within ±1/2/5 % per side, and the long/short asymmetry within ±5 %."""

    prices = levels["price"].to_numpy(dtype=np.float64)
    sides = levels["side"].to_numpy()
    usds, dists = (levels[k].to_numpy(dtype=np.float64) for k in ("notional_usd", "distance_pct"))

    def nearest(side: str) -> Level | None:
        ok = (sides == side) & ((prices <= last_price) if side == "long" else (prices >= last_price))
        if not ok.any():
            return None
        i = int(np.flatnonzero(ok)[np.argmin(np.abs(prices[ok] - last_price))])
        return Level(float(prices[i]), side, float(usds[i]), float(dists[i]))

    long_within = _usd_within(long_prices, long_usd, last_price, -1.0)
    short_within = _usd_within(short_prices, short_usd, last_price, 1.0)
    s5, l5 = short_within[5], long_within[5]
    asym = (s5 - l5) / (s5 + l5) if (s5 + l5) > 0 else math.nan
    return Summary(
        last_price=last_price,
        nearest_above=nearest("short"),
        nearest_below=nearest("long"),
        long_usd_within=long_within,
        short_usd_within=short_within,
        asymmetry=asym,
        reading=asymmetry_reading(asym),
    )


def _usd_within(prices: F64, usd: F64, last_price: float, direction: float) -> dict[int, float]:
    """USD of the positions between the last price and ``k`` % beyond it (below: ``direction`` −1), per ``k``.

    The positions within the widest band are picked first and the narrower bands from those: the same
    positions in the same order as a pass over all of them, for a fraction of the work.
    """
    widest = max(WITHIN_PCT)
    far = last_price * (1 + direction * widest / 100)
    if direction < 0:
        near = np.flatnonzero((prices >= far) & (prices <= last_price))
    else:
        near = np.flatnonzero((prices <= far) & (prices >= last_price))
    p, u = prices[near], usd[near]
    out = {}
    for k in WITHIN_PCT:
        bound = last_price * (1 + direction * k / 100)
        out[k] = float(u[(p >= bound) if direction < 0 else (p <= bound)].sum())
    return out


def asymmetry_reading(asym: float) -> str:
    """Plain-words reading of the asymmetry.

    Examples
    --------
    >>> asymmetry_reading(0.4)
    'More estimated short liquidations above price than long below: upward pull.'
    """
    if not math.isfinite(asym):
        return "No estimated liquidations within ±5 % of price."
    if asym >= ASYMMETRY_READING_THRESHOLD:
        return "More estimated short liquidations above price than long below: upward pull."
    if asym <= -ASYMMETRY_READING_THRESHOLD:
        return "More estimated long liquidations below price than short above: downward pull."
    return "Long and short liquidations within ±5 % are roughly balanced: no strong pull either way."
