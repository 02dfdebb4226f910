"""Model check: how well does the estimate track liquidations that really happened?

:func:`model_check` runs :func:`liq.estimate` over candles that cover a liquidation recording and compares,
candle by candle *inside the windows the recording covers*:

* the model's swept notional (``Estimate.swept_per_candle``) with the recorded liquidated notional, per side
  (Spearman rank correlation);
* a naive baseline, ``max(open−low, 0)·volume`` for longs and ``max(high−open, 0)·volume`` for shorts ("big
  move × volume"), with the recording;
* the **partial Spearman** correlation of model and recording controlling for the baseline (the headline:
  what the model adds beyond the baseline), and the plain difference of the two correlations;
* a location check: the share of recorded events whose price fell inside a zone the model showed just
  before them, against the share of the candle's range those zones covered (their ratio is the lift).

Every correlation has a bootstrap confidence interval (candles resampled with replacement). A metric is NaN,
with a note that says why, when a series is constant (for example no long liquidations were recorded).

Rank statistics live in :mod:`liq._check.stats`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._config import ModelConfig
from .._errors import DataValidationError
from .._sources._common import WARMUP
from .stats import RankedRows, bootstrap_ci, partial_spearman, rankdata, spearman

if TYPE_CHECKING:
    from .._engine import Estimate

__all__ = [
    "METRIC_LABELS",
    "ModelCheck",
    "model_check",
    "pool_checks",
    "partial_spearman",
    "rankdata",
    "recording_windows",
    "spearman",
]

F64 = npt.NDArray[np.float64]
Side = Literal["long", "short"]
SIDES: tuple[Side, Side] = ("long", "short")

#: Windows are split where consecutive recorded events are further apart than this.
DEFAULT_MAX_GAP = pd.Timedelta(minutes=45)
#: History the model gets before the first window, so positions exist to be swept inside it (the app's warm-up).
DEFAULT_WARMUP = WARMUP

#: Human labels of the rows of :attr:`ModelCheck.metrics` (for tables and pages).
METRIC_LABELS: dict[str, str] = {
    "partial_spearman": "Partial Spearman, model vs recorded, controlling for the baseline (headline)",
    "spearman_model": "Spearman, model swept USD vs recorded USD",
    "spearman_baseline": "Spearman, baseline (move × volume) vs recorded USD",
    "difference": "Model Spearman minus baseline Spearman",
    "location_lift": "Location lift: share of events inside predicted zones ÷ share of range covered",
    "zone_hit_share": "Share of recorded events inside a predicted zone alive just before",
    "zone_cover_share": "Share of the candle's range covered by those zones (event-weighted)",
    "density_lift": "Density lift: alive notional at event prices ÷ its average over the candle's range",
    "candles": "Candles compared",
    "events": "Recorded events",
    "notional_usd": "Recorded notional (USD)",
}

_CORR_METRICS = ("partial_spearman", "spearman_model", "spearman_baseline", "difference")


# ----------------------------------------------------------------------------------------------------
# recording windows
# ----------------------------------------------------------------------------------------------------
def _utc(value: object) -> pd.Timestamp:
    ts = pd.Timestamp(value)  # type: ignore[arg-type]
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def recording_windows(
    liquidations: pd.DataFrame,
    *,
    max_gap: pd.Timedelta = DEFAULT_MAX_GAP,
    gaps: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Continuous windows that a recording covers, detected from its event times.

    A recorder that ran for an hour writes events throughout that hour; a silence longer than ``max_gap``
    (45 minutes by default) is taken as "the recorder was off". Intervals in ``gaps`` (the recorder's own gap
    log, see :func:`liq.load_gaps`) are cut out as well.

    Parameters
    ----------
    liquidations : DataFrame
        From :func:`liq.load_liquidations` (all symbols of the recording: coverage is the recorder's, not a
        symbol's).
    max_gap : Timedelta
        Largest silence still considered part of one window.
    gaps : DataFrame, optional
        ``start, end`` (UTC) intervals when the recorder was known not to listen.

    Returns
    -------
    DataFrame
        ``window`` (0, 1, ...), ``start``, ``end`` (first and last event time), ``n_events``.

    Examples
    --------
    >>> t = pd.to_datetime(["2024-12-04 10:00", "2024-12-04 10:30", "2024-12-04 12:00"], utc=True)
    >>> recording_windows(pd.DataFrame({"time": t}))[["start", "end", "n_events"]].to_string(index=False)
    '                    start                       end  n_events\\n2024-12-04 10:00:00+00:00 2024-12-04 10:30:00+00:00         2\\n2024-12-04 12:00:00+00:00 2024-12-04 12:00:00+00:00         1'
    """
    if "time" not in liquidations:
        raise DataValidationError(
            "The recording needs a 'time' column; read it with liq.load_liquidations()."
        )
    times = np.sort(pd.to_datetime(liquidations["time"], utc=True).to_numpy(dtype="datetime64[ns]"))
    if len(times) == 0:
        return _windows_frame(
            np.array([], "datetime64[ns]"), np.array([], "datetime64[ns]"), np.array([], int)
        )
    gap_ns = np.timedelta64(int(pd.Timedelta(max_gap).value), "ns")
    cuts = np.zeros(len(times), dtype=bool)
    cuts[1:] = np.diff(times) > gap_ns
    if gaps is not None and len(gaps):
        g_start = pd.to_datetime(gaps["start"], utc=True).to_numpy(dtype="datetime64[ns]")
        g_end = pd.to_datetime(gaps["end"], utc=True).to_numpy(dtype="datetime64[ns]")
        # An event starts a new window when a logged gap lies between it and the previous event.
        prev = np.concatenate([times[:1], times[:-1]])
        for s, e in zip(g_start, g_end, strict=True):
            cuts[1:] |= (prev[1:] <= e) & (times[1:] >= s)
    window_id = np.cumsum(cuts)
    starts = np.flatnonzero(np.r_[True, window_id[1:] != window_id[:-1]])
    ends = np.r_[starts[1:] - 1, len(times) - 1]
    return _windows_frame(times[starts], times[ends], ends - starts + 1)


def _windows_frame(start: np.ndarray, end: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "window": np.arange(len(start), dtype=np.int64),
            "start": pd.to_datetime(start, utc=True),
            "end": pd.to_datetime(end, utc=True),
            "n_events": np.asarray(n, dtype=np.int64),
        }
    )


WindowsLike = pd.DataFrame | Sequence[tuple[object, object]]


def _normalise_windows(windows: WindowsLike) -> pd.DataFrame:
    if isinstance(windows, pd.DataFrame):
        if not {"start", "end"} <= set(windows.columns):
            raise DataValidationError("windows needs columns 'start' and 'end' (UTC times).")
        pairs = list(zip(windows["start"], windows["end"], strict=True))
    else:
        pairs = [tuple(w) for w in windows]  # type: ignore[misc]
        if any(len(p) != 2 for p in pairs):
            raise DataValidationError(
                "windows must be (start, end) pairs, e.g. [('2024-12-04 16:46', '2024-12-05 01:54')]."
            )
    try:
        start = [_utc(s) for s, _ in pairs]
        end = [_utc(e) for _, e in pairs]
    except (ValueError, TypeError) as err:
        raise DataValidationError(f"Could not read a window time ({err}). Use ISO times in UTC.") from None
    if any(e < s for s, e in zip(start, end, strict=True)):
        raise DataValidationError("A window ends before it starts; give (start, end) in that order.")
    order = np.argsort(np.array([s.value for s in start], dtype=np.int64), kind="stable")
    return _windows_frame(
        np.array([start[i].value for i in order], dtype="datetime64[ns]"),
        np.array([end[i].value for i in order], dtype="datetime64[ns]"),
        np.zeros(len(order), dtype=np.int64),
    )


# ----------------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class ModelCheck:
    """Result of :func:`model_check`.

    Attributes
    ----------
    symbol : str or None
        Symbol checked.
    config : ModelConfig
        Settings the estimate ran with (``time_columns`` forced to one column per candle).
    windows : DataFrame
        ``window, start, end, n_events, n_candles``: the recording windows used.
    per_candle : DataFrame
        Tidy, one row per (candle, side): ``open_time, window, side, predicted_usd`` (model swept),
        ``baseline_usd`` (move × volume), ``realised_usd`` (recorded notional), ``events``,
        ``events_in_zone``, ``alive_at_events_usd`` / ``alive_range_avg_usd`` (alive notional in the events'
        price bins, and events × its average bin over the candle's range: their sums give the density
        lift), ``zone_cover_share`` (share of the candle's range inside the zones alive at
        the end of the previous candle).
    metrics : DataFrame
        ``side, metric, label, value, ci_low, ci_high, note``; metrics are the keys of
        :data:`METRIC_LABELS`. CIs are bootstrap percentile intervals (95 %) over candles.
    notes : tuple of str
        Plain-words notes: why a value is NaN, how much history the model had, caveats.
    n_boot, seed : int
        Bootstrap settings (same seed, same intervals).
    warmup : Timedelta
        History the estimate started before the first window.
    """

    symbol: str | None
    config: ModelConfig
    windows: pd.DataFrame
    per_candle: pd.DataFrame
    metrics: pd.DataFrame
    notes: tuple[str, ...]
    n_boot: int
    seed: int
    warmup: pd.Timedelta

    def value(self, side: Side, metric: str) -> float:
        """One metric value, e.g. ``check.value("long", "partial_spearman")``."""
        row = self.metrics[(self.metrics["side"] == side) & (self.metrics["metric"] == metric)]
        if row.empty:
            raise KeyError(f"no metric {metric!r} for side {side!r}; metrics are {list(METRIC_LABELS)}")
        return float(row["value"].iloc[0])

    @property
    def headline(self) -> dict[str, float]:
        """Partial Spearman per side: ``{"long": ..., "short": ...}``."""
        return {side: self.value(side, "partial_spearman") for side in SIDES}

    @property
    def explanation(self) -> str:
        """All notes as one paragraph (for a page caption)."""
        return " ".join(self.notes)

    def table(self) -> pd.DataFrame:
        """Metrics as a wide table: one row per metric, ``long`` / ``short`` values and CIs as columns."""
        wide = self.metrics.pivot(index="metric", columns="side", values=["value", "ci_low", "ci_high"])
        wide.columns = [f"{col[1]}_{col[0]}" for col in wide.columns.to_list()]
        wide = wide.reindex([m for m in METRIC_LABELS if m in wide.index])
        wide.insert(0, "label", [METRIC_LABELS[m] for m in wide.index])
        return wide.reset_index()


# ----------------------------------------------------------------------------------------------------
# the check
# ----------------------------------------------------------------------------------------------------
def _select_candles(
    open_ns: np.ndarray, step_ns: int, windows: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of candles overlapping each window, and the window of each (first window wins)."""
    starts = windows["start"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    ends = windows["end"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    ot = open_ns.astype(np.int64)
    lo = np.searchsorted(ot + step_ns, starts, side="right")  # first candle whose close is after start
    hi = np.searchsorted(ot, ends, side="right")  # candles opening at or before end
    counts = np.maximum(hi - lo, 0)
    idx = (
        np.concatenate([np.arange(a, b) for a, b in zip(lo, hi, strict=True)])
        if counts.sum()
        else np.array([], int)
    )
    win = np.repeat(windows["window"].to_numpy(), counts)
    idx, first = np.unique(idx, return_index=True)
    return idx.astype(np.int64), win[first].astype(np.int64)


def _nan_reason(side: Side, x: F64, y: F64, z: F64) -> str | None:
    n = len(x)
    who = "long" if side == "long" else "short"
    if n < 3:
        return f"{who.capitalize()} side: only {n} candle(s) in the windows, too few for a rank correlation."
    if np.ptp(y) == 0:
        return (
            f"{who.capitalize()} side: the recorded {who} liquidations are the same in every candle "
            f"({y[0]:,.0f} USD), so no correlation is defined."
        )
    if np.ptp(x) == 0:
        return (
            f"{who.capitalize()} side: the model swept the same {who} notional in every candle "
            f"({x[0]:,.0f} USD), so its correlation is undefined (no modelled positions were reached in these "
            "candles)."
        )
    if np.ptp(z) == 0:
        return f"{who.capitalize()} side: the baseline is constant, so the baseline correlation is undefined."
    return None


def model_check(
    candles: pd.DataFrame,
    liquidations: pd.DataFrame,
    config: ModelConfig | None = None,
    windows: WindowsLike | None = None,
    *,
    symbol: str | None = None,
    open_interest: pd.DataFrame | None = None,
    warmup: pd.Timedelta | None = DEFAULT_WARMUP,
    max_gap: pd.Timedelta = DEFAULT_MAX_GAP,
    n_boot: int = 1000,
    seed: int = 0,
) -> ModelCheck:
    """Compare the estimate with recorded liquidations, candle by candle, inside the recording's windows.

    The model needs history: an estimate started at a window's first candle would have almost nothing alive
    to sweep. So the estimate runs on the candles from ``warmup`` (3 days by default) before a window to its
    end. Windows closer together than ``warmup`` share one estimate (it starts ``warmup`` before the first of
    them); windows further apart get their own, so every window is scored with at least ``warmup`` of
    history and a comparable model state, however far apart the recordings are. Candles outside the
    windows feed the model but are not scored.

    The location check uses the per-candle heatmap columns (``time_columns`` is forced to ``None``): the
    zones "alive just before" an event in candle *k* are the bins of column *k−1* holding at least
    ``config.significance`` of that column's largest bin, the same rule as ``Estimate.zones``. Event prices
    are clipped to their candle's high-low range (some recordings only carry the bankruptcy price).

    Parameters
    ----------
    candles : DataFrame
        Engine candles (``open_time`` UTC, ``open, high, low, close, volume``, ...) covering the windows and,
        ideally, ``warmup`` before them. Not modified.
    liquidations : DataFrame
        From :func:`liq.load_liquidations`.
    config : ModelConfig, optional
        Model settings; ``time_columns`` is forced to ``None`` (one heatmap column per candle).
    windows : DataFrame or sequence of (start, end), optional
        Recording windows; detected with :func:`recording_windows` when omitted.
    symbol : str, optional
        Symbol to check; required when the recording holds several.
    open_interest : DataFrame, optional
        Passed to :func:`liq.estimate` (OI model).
    warmup : Timedelta or None
        History given to the model before each window (default 3 days); ``None`` runs one estimate from
        the first candle given.
    max_gap : Timedelta
        Window detection threshold (default 45 minutes).
    n_boot : int
        Bootstrap replicates (0 disables the intervals).
    seed : int
        Bootstrap seed; the same seed gives the same intervals.

    Returns
    -------
    ModelCheck

    Raises
    ------
    DataValidationError
        When the recording is empty, the symbol is ambiguous or absent, or the candles miss the windows.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from liq._check.recordings import load_liquidations
    >>> t = pd.date_range("2024-12-01", periods=1200, freq="5min", tz="UTC")
    >>> px = 100 * np.exp(np.cumsum(np.random.default_rng(0).normal(0, 0.002, 1201)))
    >>> candles = pd.DataFrame({"open_time": t, "open": px[:-1], "close": px[1:], "volume": 1000.0,
    ...                         "high": np.maximum(px[:-1], px[1:]) * 1.001,
    ...                         "low": np.minimum(px[:-1], px[1:]) * 0.999})
    >>> k = np.arange(900, 1200, 3)  # one recorded event every 15 minutes in the last day
    >>> events = load_liquidations(pd.DataFrame({
    ...     "time": t[k] + pd.Timedelta("1min"), "symbol": "TESTUSDT",
    ...     "side": np.where(k % 2 == 0, "SELL", "BUY"), "avg_price": px[k], "qty": 1.0}))
    >>> check = model_check(candles, events, n_boot=100, seed=1)
    >>> check.windows[["n_events", "n_candles"]].to_dict("records")
    [{'n_events': 100, 'n_candles': 298}]
    >>> sorted(check.headline)
    ['long', 'short']
    >>> check.table().columns.tolist()[:4]
    ['metric', 'label', 'long_value', 'short_value']
    """
    cfg = (config if config is not None else ModelConfig()).with_(time_columns=None)
    _check_recording(liquidations, n_boot)
    symbol = _pick_symbol(liquidations, symbol)
    win = recording_windows(liquidations, max_gap=max_gap) if windows is None else _normalise_windows(windows)
    if win.empty:
        raise DataValidationError("No recording windows to check.")
    ot_all = _candle_times(candles, win)
    ev = liquidations[liquidations["symbol"].astype(str).str.upper() == symbol]
    events = _events_in_windows(ev, win)
    notes: list[str] = []
    run = _run_segments(candles, ot_all, win, events, cfg, symbol, open_interest, warmup, notes)
    notes += _coverage_notes(run, ev, symbol)
    per_candle = pd.concat([p.frame for p in run.parts], ignore_index=True)
    per_candle = per_candle.sort_values(["side", "open_time"], kind="stable").reset_index(drop=True)
    metrics = _metrics(per_candle, n_boot, seed, notes)
    windows_out = win.copy()
    windows_out["n_events"] = np.bincount(events.window[run.scored], minlength=len(win))[: len(win)]
    longs = per_candle[per_candle["side"] == "long"]
    windows_out["n_candles"] = np.bincount(longs["window"].to_numpy(dtype=np.int64), minlength=len(win))[
        : len(win)
    ]
    notes.append(LOWER_BOUND_NOTE)
    return ModelCheck(
        symbol=symbol,
        config=cfg,
        windows=windows_out,
        per_candle=per_candle,
        metrics=metrics,
        notes=tuple(notes),
        n_boot=n_boot,
        seed=seed,
        warmup=run.history,
    )


#: The caveat every check carries.
LOWER_BOUND_NOTE = (
    "Recorded liquidations are a lower bound: Binance pushes at most one liquidation per symbol per second. "
    "Intervals resample candles independently, which ignores their autocorrelation (they are optimistic)."
)


def pool_checks(checks: Sequence[ModelCheck], *, n_boot: int = 1000, seed: int = 0) -> ModelCheck:
    """One check over several symbols: their candles pooled, metrics and bootstrap intervals recomputed.

    Each symbol's candles keep their own USD scale (a BTC candle weighs like a DOT candle in the ranks;
    both the model and the baseline carry the symbol's volume), and the bootstrap resamples the pooled
    candles.

    Parameters
    ----------
    checks : sequence of ModelCheck
        Checks of single symbols, from :func:`model_check` with the same config.
    n_boot, seed : int
        Bootstrap replicates and seed.

    Returns
    -------
    ModelCheck
        ``symbol`` is ``"all"``; ``per_candle`` gains a ``symbol`` column; ``windows`` is that of every check,
        with a ``symbol`` column.
    """
    if not checks:
        raise DataValidationError("Nothing to pool: give at least one model check.")
    frames, wins = [], []
    for chk in checks:
        frames.append(chk.per_candle.assign(symbol=chk.symbol))
        wins.append(chk.windows.assign(symbol=chk.symbol))
    per_candle = pd.concat(frames, ignore_index=True)
    per_candle = per_candle.sort_values(["side", "symbol", "open_time"], kind="stable").reset_index(drop=True)
    notes: list[str] = [f"Pooled over {len(checks)} symbols: {', '.join(str(c.symbol) for c in checks)}."]
    metrics = _metrics(per_candle, n_boot, seed, notes)
    notes.append(LOWER_BOUND_NOTE)
    return ModelCheck(
        symbol="all",
        config=checks[0].config,
        windows=pd.concat(wins, ignore_index=True),
        per_candle=per_candle,
        metrics=metrics,
        notes=tuple(notes),
        n_boot=n_boot,
        seed=seed,
        warmup=min(c.warmup for c in checks),
    )


def _check_recording(liquidations: pd.DataFrame, n_boot: int) -> None:
    if not isinstance(liquidations, pd.DataFrame) or not {
        "time",
        "symbol",
        "side",
        "price",
        "notional_usd",
    } <= set(liquidations.columns):
        raise DataValidationError(
            "liquidations must be the frame from liq.load_liquidations() (columns time, symbol, side, price, "
            "notional_usd)."
        )
    if liquidations.empty:
        raise DataValidationError("The recording has no events; record for a while and try again.")
    if n_boot < 0:
        raise DataValidationError("n_boot must be 0 (no intervals) or a positive number of replicates.")


def _pick_symbol(liquidations: pd.DataFrame, symbol: str | None) -> str:
    symbols = sorted(set(liquidations["symbol"].astype(str)))
    if symbol is None:
        if len(symbols) > 1:
            shown = ", ".join(symbols[:12]) + (f" and {len(symbols) - 12} more" if len(symbols) > 12 else "")
            raise DataValidationError(
                f"The recording holds several symbols ({shown}); pass symbol= to pick the one the candles "
                "belong to."
            )
        symbol = symbols[0]
    symbol = symbol.upper()
    if symbol not in symbols:
        raise DataValidationError(
            f"The recording has no {symbol} events; it holds {', '.join(symbols[:12])}."
        )
    return symbol


def _candle_times(candles: pd.DataFrame, win: pd.DataFrame) -> pd.Series:
    if "open_time" not in candles:
        raise DataValidationError("candles need an 'open_time' column (UTC).")
    ot_all = pd.to_datetime(candles["open_time"], utc=True)
    first_start, last_end = win["start"].min(), win["end"].max()
    if not ((ot_all <= last_end) & (ot_all >= first_start - pd.Timedelta(hours=1))).any():
        raise DataValidationError(
            f"The candles ({ot_all.min()} → {ot_all.max()}) do not cover the recording "
            f"({first_start} → {last_end}). Load candles for those dates."
        )
    return ot_all


def _events_in_windows(ev: pd.DataFrame, win: pd.DataFrame) -> _Events:
    """The symbol's events with the window each falls in (-1 outside; overlapping windows: first wins)."""
    ev_t = pd.to_datetime(ev["time"], utc=True).to_numpy(dtype="datetime64[ns]").astype(np.int64)
    w_start = win["start"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    w_end = win["end"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    ev_w = np.searchsorted(w_start, ev_t, side="right") - 1
    ev_w = np.where((ev_w >= 0) & (ev_t <= w_end[np.clip(ev_w, 0, None)]), ev_w, -1)
    return _Events(
        t=ev_t,
        window=ev_w,
        side=ev["side"].astype(str).to_numpy(dtype=object),
        price=ev["price"].to_numpy(dtype=np.float64),
        usd=ev["notional_usd"].to_numpy(dtype=np.float64),
    )


@dataclass(frozen=True, eq=False)
class _Run:
    parts: list[_Scored]
    scored: npt.NDArray[np.bool_]
    history: pd.Timedelta


def _run_segments(
    candles: pd.DataFrame,
    ot_all: pd.Series,
    win: pd.DataFrame,
    events: _Events,
    cfg: ModelConfig,
    symbol: str,
    open_interest: pd.DataFrame | None,
    warmup: pd.Timedelta | None,
    notes: list[str],
) -> _Run:
    """One estimate per group of windows (with ``warmup`` of history), scored candle by candle."""
    from .._engine import estimate  # local import: the engine imports nothing of the check

    parts: list[_Scored] = []
    scored = np.zeros(len(events.t), dtype=bool)
    histories: list[pd.Timedelta] = []
    for seg in _segments(win, warmup):
        ws = win.iloc[seg]
        s0, s1 = ws["start"].min(), ws["end"].max()
        keep = ot_all <= s1
        if warmup is not None:
            keep &= ot_all >= s0 - warmup
        if int(keep.sum()) < 2:
            notes.append(f"No candles for the window(s) {s0:%Y-%m-%d %H:%M} → {s1:%H:%M}; they are skipped.")
            continue
        est = estimate(candles.loc[keep.to_numpy()], open_interest=open_interest, config=cfg, symbol=symbol)
        part = _score_segment(est, ws, events, cfg.significance)
        if part is None:
            continue
        parts.append(part)
        scored |= part.scored
        histories.append(pd.Timedelta(int(s0.value - part.first_open_ns), "ns"))
    if not parts:
        raise DataValidationError(
            f"No candle overlaps the recording windows ({win['start'].min()} → {win['end'].max()}). "
            "Load candles covering them."
        )
    return _Run(parts, scored, min(histories))


def _coverage_notes(run: _Run, ev: pd.DataFrame, symbol: str) -> list[str]:
    notes = []
    if run.history < pd.Timedelta(days=1):
        notes.append(
            f"The model had only {run.history} of candles before a window; swept figures early in that window "
            "are understated. Load a few days of candles before the recording."
        )
    if any(p.location_skipped for p in run.parts):
        notes.append("The heatmap does not have one column per candle; the location check is skipped.")
    n_out = int((~run.scored).sum())
    if n_out:
        notes.append(f"{n_out} {symbol} event(s) fall outside the windows or the candles and are not scored.")
    kinds = ev["price_kind"].astype(str).to_numpy() if "price_kind" in ev else np.full(len(ev), "avg")
    if ((kinds == "order") & run.scored).any():
        notes.append(
            "Some events carry only the order (bankruptcy) price, slightly beyond the traded price; the "
            "location check clips every event price to its candle's high-low range."
        )
    return notes


def _metrics(per_candle: pd.DataFrame, n_boot: int, seed: int, notes: list[str]) -> pd.DataFrame:
    """Metric rows of both sides; the bootstrap resamples the same candles for every metric and side."""
    n_candles = int((per_candle["side"] == "long").sum())
    rng = np.random.default_rng(seed)
    boot_idx = (
        rng.integers(0, n_candles, size=(n_boot, n_candles)) if n_boot else np.empty((0, n_candles), int)
    )
    rows: list[dict[str, object]] = []
    for side in SIDES:
        f = per_candle[per_candle["side"] == side]
        rows += _side_metrics(
            side,
            f["predicted_usd"].to_numpy(dtype=np.float64),
            f["realised_usd"].to_numpy(dtype=np.float64),
            f["baseline_usd"].to_numpy(dtype=np.float64),
            f["events"].to_numpy(dtype=np.int64),
            f["events_in_zone"].to_numpy(dtype=np.float64),
            f["zone_cover_share"].to_numpy(dtype=np.float64),
            (
                f["alive_at_events_usd"].to_numpy(dtype=np.float64),
                f["alive_range_avg_usd"].to_numpy(dtype=np.float64),
            ),
            boot_idx,
            notes,
        )
    return pd.DataFrame(rows, columns=["side", "metric", "label", "value", "ci_low", "ci_high", "note"])


@dataclass(frozen=True)
class _Events:
    t: npt.NDArray[np.int64]
    window: npt.NDArray[np.int64]
    side: npt.NDArray[np.object_]
    price: F64
    usd: F64


@dataclass(frozen=True, eq=False)
class _Scored:
    frame: pd.DataFrame
    scored: npt.NDArray[np.bool_]
    first_open_ns: int
    location_skipped: bool


def _segments(win: pd.DataFrame, warmup: pd.Timedelta | None) -> list[npt.NDArray[np.int64]]:
    """Group windows that share one estimate: a window joins the previous group when its warm-up would
    start before that group ends (so every window gets at least ``warmup`` of history, and no estimate
    is run twice over the same candles). ``warmup=None``: one group, the estimate starts at the first candle."""
    n = len(win)
    if warmup is None or n == 0:
        return [np.arange(n, dtype=np.int64)]
    start = win["start"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    end = np.maximum.accumulate(win["end"].to_numpy(dtype="datetime64[ns]").astype(np.int64))
    new = np.r_[True, start[1:] - pd.Timedelta(warmup).value > end[:-1]]
    return np.split(np.arange(n, dtype=np.int64), np.flatnonzero(new)[1:])


def _score_segment(est: Estimate, ws: pd.DataFrame, ev: _Events, significance: float) -> _Scored | None:
    """Per-candle predicted / baseline / realised and location figures for the windows ``ws`` of one estimate."""
    c = est.candles
    open_ns = c["open_time"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    if len(open_ns) < 2:
        return None
    step_ns = int(np.median(np.diff(open_ns)))
    idx, cwin = _select_candles(open_ns, step_ns, ws)
    if idx.size == 0:
        return None
    o, h, lo_, vol = (c[k].to_numpy(dtype=np.float64) for k in ("open", "high", "low", "volume"))
    spc = est.swept_per_candle
    swept = {
        "long": spc["long_usd"].to_numpy(dtype=np.float64),
        "short": spc["short_usd"].to_numpy(dtype=np.float64),
    }
    baseline = {"long": np.maximum(o - lo_, 0.0) * vol, "short": np.maximum(h - o, 0.0) * vol}

    # events of these windows -> candle of this estimate (only candles selected for the windows)
    ev_k = np.searchsorted(open_ns, ev.t, side="right") - 1
    ok = np.isin(ev.window, ws["window"].to_numpy()) & (ev_k >= 0)
    ok &= ev.t < open_ns[np.clip(ev_k, 0, None)] + step_ns
    pos = np.clip(np.searchsorted(idx, ev_k), 0, idx.size - 1)
    ok &= idx[pos] == ev_k

    # location: zones alive at the end of the previous candle, from the per-candle heatmap columns
    heat = est.heatmap
    edges = np.asarray(heat.price_edges, dtype=np.float64)
    location_ok = heat.long_usd.shape[0] == len(c)
    prev = np.clip(idx - 1, 0, None)
    lo_k, hi_k = lo_[idx], h[idx]
    overlap = np.clip(
        np.minimum(hi_k[:, None], edges[None, 1:]) - np.maximum(lo_k[:, None], edges[None, :-1]), 0.0, None
    )
    width = hi_k - lo_k
    point_bin = np.clip(np.searchsorted(edges, lo_k, side="right") - 1, 0, len(edges) - 2)

    frames = []
    for side in SIDES:
        sel = ok & (ev.side == side)
        k_of = pos[sel]
        realised = np.bincount(k_of, weights=ev.usd[sel], minlength=idx.size).astype(np.float64)
        n_events = np.bincount(k_of, minlength=idx.size).astype(np.int64)
        hits = np.zeros(idx.size, dtype=np.int64)
        cover = np.full(idx.size, np.nan)
        dens_ev = np.full(idx.size, np.nan)
        dens_range = np.full(idx.size, np.nan)
        if location_ok:
            grid = heat.long_usd if side == "long" else heat.short_usd
            cols = np.asarray(grid[prev], dtype=np.float64)  # (K, P) alive just before each candle
            sig = (cols > 0) & (cols >= significance * cols.max(axis=1, keepdims=True))
            sig[idx == 0] = False  # nothing is known before the first candle
            covered = (overlap * sig).sum(axis=1)
            safe = np.where(width > 0, width, 1.0)
            cover = np.where(
                width > 0, covered / safe, sig[np.arange(idx.size), point_bin].astype(np.float64)
            )
            # the fill happened inside the bar: an order (bankruptcy) price beyond it is clipped to the bar
            price = np.clip(ev.price[sel], lo_k[k_of], hi_k[k_of])
            eb = np.searchsorted(edges, price, side="right") - 1
            inside = (eb >= 0) & (eb < len(edges) - 1)
            hit = np.zeros(eb.size, dtype=bool)
            hit[inside] = sig[k_of[inside], eb[inside]]
            hits = np.bincount(k_of, weights=hit.astype(np.float64), minlength=idx.size).astype(np.int64)
            # threshold-free: alive USD in the event's bin vs the average bin over the candle's range
            at_event = np.zeros(eb.size)
            at_event[inside] = cols[k_of[inside], eb[inside]]
            dens_ev = np.bincount(k_of, weights=at_event, minlength=idx.size).astype(np.float64)
            avg_bin = np.where(
                width > 0, (overlap * cols).sum(axis=1) / safe, cols[np.arange(idx.size), point_bin]
            )
            dens_range = n_events * avg_bin
        frames.append(
            pd.DataFrame(
                {
                    "open_time": pd.to_datetime(open_ns[idx], utc=True),
                    "window": cwin,
                    "side": side,
                    "predicted_usd": swept[side][idx],
                    "baseline_usd": baseline[side][idx],
                    "realised_usd": realised,
                    "events": n_events,
                    "events_in_zone": hits,
                    "zone_cover_share": cover,
                    "alive_at_events_usd": dens_ev,
                    "alive_range_avg_usd": dens_range,
                }
            )
        )
    return _Scored(pd.concat(frames, ignore_index=True), ok, int(open_ns[0]), not location_ok)


def _side_metrics(
    side: Side,
    x: F64,
    y: F64,
    z: F64,
    events: npt.NDArray[np.int64],
    hits: F64,
    cover: F64,
    dens: tuple[F64, F64],
    boot_idx: npt.NDArray[np.int64],
    notes: list[str],
) -> list[dict[str, object]]:
    """Metric rows of one side; bootstrap replicates resample the same candles for every metric."""
    reason = _nan_reason(side, x, y, z)
    if reason:
        notes.append(reason)
    samples = [RankedRows.of(x[None, :], y[None, :], z[None, :])]
    if boot_idx.size:
        samples.append(RankedRows.resampled(x, y, z, boot_idx))
    values: dict[str, list[F64]] = {m: [] for m in _CORR_METRICS}
    for ranked in samples:
        rm, rb = ranked.spearman_model(), ranked.spearman_baseline()
        values["spearman_model"].append(rm)
        values["spearman_baseline"].append(rb)
        values["difference"].append(rm - rb)
        values["partial_spearman"].append(ranked.partial())

    out: list[dict[str, object]] = []

    def add(metric: str, value: float, ci: tuple[float, float], note: str = "") -> None:
        out.append(
            {
                "side": side,
                "metric": metric,
                "label": METRIC_LABELS[metric],
                "value": value,
                "ci_low": ci[0],
                "ci_high": ci[1],
                "note": note,
            }
        )

    for metric in _CORR_METRICS:
        point = float(values[metric][0][0])
        ci = bootstrap_ci(values[metric][1]) if len(values[metric]) > 1 else (np.nan, np.nan)
        add(metric, point, ci, "" if np.isfinite(point) else (reason or "A residual series is constant."))

    n_ev = float(events.sum())
    if np.isfinite(cover).all() and n_ev > 0:
        w_cover = events * cover
        hit_share, cover_share = hits.sum() / n_ev, w_cover.sum() / n_ev
        lift = hit_share / cover_share if cover_share > 0 else np.nan
        ci_l: tuple[float, float] = (np.nan, np.nan)
        if boot_idx.size:
            hb, cb = hits[boot_idx].sum(axis=1), w_cover[boot_idx].sum(axis=1)
            ci_l = bootstrap_ci(np.divide(hb, cb, out=np.full(hb.shape, np.nan), where=cb > 0))
        lift_note = (
            f"{hits.sum():.0f} of {n_ev:.0f} events fell inside a zone."
            if np.isfinite(lift)
            else "The predicted zones covered none of the candles' ranges."
        )
        add("location_lift", float(lift), ci_l, lift_note)
        add("zone_hit_share", float(hit_share), (np.nan, np.nan))
        add("zone_cover_share", float(cover_share), (np.nan, np.nan))
        at_ev, rng_avg = dens
        d_lift = at_ev.sum() / rng_avg.sum() if rng_avg.sum() > 0 else np.nan
        ci_d: tuple[float, float] = (np.nan, np.nan)
        if boot_idx.size:
            ab, rb_ = at_ev[boot_idx].sum(axis=1), rng_avg[boot_idx].sum(axis=1)
            ci_d = bootstrap_ci(np.divide(ab, rb_, out=np.full(ab.shape, np.nan), where=rb_ > 0))
        d_note = "" if np.isfinite(d_lift) else "The model had no alive notional inside the candles' ranges."
        add("density_lift", float(d_lift), ci_d, d_note)
    else:
        why = f"No recorded {side} events to locate." if n_ev == 0 else "Location check unavailable."
        for m in ("location_lift", "zone_hit_share", "zone_cover_share", "density_lift"):
            add(m, np.nan, (np.nan, np.nan), why)
    add("candles", float(len(x)), (np.nan, np.nan))
    add("events", n_ev, (np.nan, np.nan))
    add("notional_usd", float(y.sum()), (np.nan, np.nan))
    return out
