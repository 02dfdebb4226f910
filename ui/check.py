"""Helpers of the "Model check" page: pick a recording, run the (cached) check, draw its results."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import pandas as pd
import streamlit as st

import liq
from liq import MarketData
from liq._check.builtin import DEC2024_TUNING_END, SET_D_SYMBOLS
from liq._format import format_usd
from liq._sources._common import WARMUP
from ui import cache, messages, progress, vega_specs

__all__ = ["Checked", "Recording", "Split", "check_for", "pick_recording", "show_check", "split_for"]

logger = logging.getLogger(__name__)

#: The recordings offered: id -> the name shown.
_CHOICES = {
    "dec2024": "Dec 2024 · BTCUSDT · built-in",
    "oct2025": "Oct 2025 excerpt · BTCUSDT / ETHUSDT · built-in",
    "jun2025": "June 2025 · 8 pairs, 1m · built-in",
    "upload": "Upload my own recording",
}


@dataclass(frozen=True)
class Checked:
    """A model check and the name its cached charts are kept under (the recording, the part of it, the
    candles and the settings), so a rerun does not hash its per-candle rows again."""

    check: liq.ModelCheck
    check_id: str


@dataclass(frozen=True)
class Recording:
    """A liquidation recording picked on the page, with the symbol to check and optional user klines."""

    key: str
    label: str
    events: pd.DataFrame
    symbol: str
    klines: bytes | None = None


def _uploaded() -> tuple[str, pd.DataFrame, str, bytes | None] | None:
    """The user's recording (and optional klines): key, events, label, klines; None before an upload."""
    f = st.file_uploader(
        "Liquidation recording (CSV, optionally .gz): Binance forceOrder events, as written by "
        "`python -m liq record-liquidations`",
        type=["csv", "gz"],
        key="mc_upload",
    )
    k = st.file_uploader(
        "Klines CSV for the same period (optional: without it the app fetches candles itself)",
        type=["csv", "gz"],
        key="mc_upload_klines",
    )
    if f is None:
        st.info("Upload a recording to check the model against it.", icon=":material/upload_file:")
        return None
    data = f.getvalue()
    events = cache.recording_upload(data)
    return (
        "upload:" + cache.content_id(data),
        events,
        f"your recording ({f.name})",
        k.getvalue() if k else None,
    )


def _recording(choice: str) -> tuple[str, pd.DataFrame, str, bytes | None] | None:
    if choice == "upload":
        return _uploaded()
    return choice, cache.recording(choice), cache.BUILTIN_RECORDINGS[choice].label, None


def pick_recording() -> Recording | None:
    """Recording picker (built-in Dec 2024, Oct 2025 excerpt, June 2025 multi-pair hour, or an upload)."""
    choice = st.radio(
        "Recording", list(_CHOICES), format_func=_CHOICES.__getitem__, horizontal=True, key="mc_recording"
    )
    try:
        picked = _recording(str(choice))
    except Exception as err:  # a LiqError is shown as its message; anything else is logged too
        messages.show_unexpected(err, "reading the recording")
        return None
    if picked is None:
        return None
    key, events, label, klines = picked
    symbols = sorted(str(s) for s in events["symbol"].dropna().unique())
    if not symbols:
        st.error("The recording holds no events.", icon=":material/error:")
        return None
    if key == "jun2025":  # only the pairs with shipped 1m candles, and all of them pooled
        symbols = [ALL_PAIRS, *(s for s in SET_D_SYMBOLS if s in symbols)]
    symbol = symbols[0]
    if len(symbols) > 1:
        symbol = str(st.selectbox("Symbol in the recording", symbols, key=f"mc_symbol_{key}") or symbol)
    return Recording(key=key, label=label, events=events, symbol=symbol, klines=klines)


#: The symbol choice that pools every pair of the June 2025 recording.
ALL_PAIRS = "all"


def _candles(rec: Recording) -> tuple[MarketData, list[str]]:
    """Candles covering the recording plus the warm-up: the user's klines, or the data chain."""
    if rec.klines is not None:
        return cache.parse_upload(rec.klines, None, rec.symbol), []
    ev = rec.events[rec.events["symbol"] == rec.symbol]
    first, last = pd.Timestamp(ev["time"].min()), pd.Timestamp(ev["time"].max())
    start = (first - WARMUP).floor("1h").to_pydatetime()
    end = (last + pd.Timedelta(hours=1)).ceil("1h").to_pydatetime()
    source = "sample" if rec.key in cache.BUILTIN_RECORDINGS else "auto"
    result = cache.fetch(rec.symbol, "5m", start, end, source).result
    return result.data, [f.reason for f in result.fallbacks]


def _events_id(rec: Recording, part: str = "all") -> str:
    """The name of ``rec``'s events of its symbol (an upload's key holds its content digest)."""
    return f"{rec.key}|{rec.symbol}|{part}"


def _check_key(rec: Recording, config: liq.ModelConfig) -> str | None:
    """What a check depends on, for :func:`ui.progress.status_box` (None with uploaded klines: their bytes
    are not hashed per rerun)."""
    return None if rec.klines is not None else f"{_events_id(rec)}|{config!r}"


def check_for(rec: Recording, config: liq.ModelConfig) -> Checked | None:
    """Run the check (cached) and show data-source messages; None (with a message) when it cannot run.

    Steps show in a folded box; a failure is explained in the open, above it."""
    label = messages.plain(rec.label)
    slot = st.container()
    key = _check_key(rec, config)
    warnings: list[str] = []
    with progress.status_box(st, f"Checking the model against {label}…", name="check", key=key) as status:
        try:
            if rec.key == "jun2025":
                status.write("Checking on the shipped 1m candles of the June 2025 hour…")
                check = Checked(cache.set_d_check(config, rec.symbol), f"set_d|{rec.symbol}|{config!r}")
                pooled = " All pairs pooled: each candle of each pair is one observation."
                note = "built-in 1m klines of 2025-06-22 → 06-24 (OHLCV only)." + (
                    pooled if rec.symbol == ALL_PAIRS else ""
                )
            else:
                status.write("Loading candles for the recording's time span…")
                data, warnings = _candles(rec)
                status.write(f"{len(data.candles):,} candles; comparing per candle with a bootstrap…")
                ev = rec.events[rec.events["symbol"] == rec.symbol]
                found = cache.model_check(config, data, _events_id(rec), rec.symbol, ev)
                check = Checked(found, f"{_events_id(rec)}|{cache.market_digest(data)}|{config!r}")
                note = messages.plain(data.note)
        except Exception as err:  # a LiqError is shown as its message; anything else is logged too
            status.update(label="The check could not run: the reason is shown above", state="error")
            with slot:
                messages.show_unexpected(err, "running the model check")
            return None
        status.update(label=f"Checked {messages.plain(rec.symbol)} against {label}", state="complete")
    for w in warnings:
        st.warning(messages.plain(w), icon=":material/warning:")
    st.caption(f"Candles: {note}")
    return check


def _fmt_metric(metric: str, value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if metric in ("candles", "events"):
        return f"{value:,.0f}"
    if metric == "notional_usd":
        return format_usd(value)
    if metric in ("zone_hit_share", "zone_cover_share"):
        return f"{value * 100:.1f} %"
    if metric.endswith("lift"):
        return f"{value:.2f}×"
    return f"{value:+.2f}"


def _ci(lo: float, hi: float, metric: str) -> str:
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return ""
    return f"{_fmt_metric(metric, lo)} … {_fmt_metric(metric, hi)}"


def metrics_table(check: liq.ModelCheck) -> pd.DataFrame:
    """The check's metrics with 95 % intervals, formatted for reading."""
    wide = check.table()
    rows = []
    for _, r in wide.iterrows():
        m = r["metric"]
        rows.append(
            {
                "Measure": r["label"],
                "Longs": _fmt_metric(m, float(r.get("long_value", math.nan))),
                "Longs 95 % interval": _ci(
                    float(r.get("long_ci_low", math.nan)), float(r.get("long_ci_high", math.nan)), m
                ),
                "Shorts": _fmt_metric(m, float(r.get("short_value", math.nan))),
                "Shorts 95 % interval": _ci(
                    float(r.get("short_ci_low", math.nan)), float(r.get("short_ci_high", math.nan)), m
                ),
            }
        )
    return pd.DataFrame(rows)


def settings_table(config: liq.ModelConfig) -> pd.DataFrame:
    """The model settings the check ran with, in words."""
    w = ", ".join(f"{lev:g}x {share * 100:.0f} %" for lev, share in config.weights().items())
    decay = config.decay_half_life_candles
    rows = [
        ("Leverage mix (renormalised)", w),
        (
            "Entry price",
            {"auto": "VWAP when available, else typical price"}.get(config.entry_mode, config.entry_mode),
        ),
        ("Share of volume opening positions (volume model)", f"{config.inflow_share * 100:.0f} %"),
        ("Long/short split by taker buying", "yes" if config.use_taker_split else "no"),
        ("Position decay half-life", "off" if decay is None else f"{decay:g} candles"),
        ("Price bins", f"{config.price_bins}"),
        ("Significance threshold", f"{config.significance:.2f}"),
        ("Assumed position size (margin bracket)", format_usd(config.assumed_position_usd)),
    ]
    return pd.DataFrame(rows, columns=["Setting", "Value"])


def _interval_text(metrics: pd.DataFrame, side: str) -> str:
    row = metrics[(metrics["side"] == side) & (metrics["metric"] == "partial_spearman")]
    if row.empty or not math.isfinite(float(row["ci_low"].iloc[0])):
        return "no interval"
    return f"95 %: {float(row['ci_low'].iloc[0]):+.2f} … {float(row['ci_high'].iloc[0]):+.2f}"


#: Where a built-in recording's tuning windows end: the model's settings were chosen on the windows before
#: (Dec 4-6 2024, see liq._check.builtin), the later ones are the untouched holdout.
_TUNING_END = {"dec2024": DEC2024_TUNING_END}


@dataclass(frozen=True)
class Split:
    """The check on a recording's holdout windows and, apart, on its tuning windows."""

    holdout: liq.ModelCheck
    tuning: liq.ModelCheck
    cut: pd.Timestamp


def split_for(rec: Recording, config: liq.ModelConfig) -> Split | None:
    """Holdout and tuning checks of a built-in recording that has both (None for the others)."""
    cut = _TUNING_END.get(rec.key)
    if cut is None or rec.klines is not None:
        return None
    try:
        data, _ = _candles(rec)
        ev = rec.events[rec.events["symbol"] == rec.symbol]
        later = pd.to_datetime(ev["time"], utc=True) >= cut
        holdout = cache.model_check(config, data, _events_id(rec, "holdout"), rec.symbol, ev[later])
        tuning = cache.model_check(config, data, _events_id(rec, "tuning"), rec.symbol, ev[~later])
    except Exception as err:  # a LiqError is shown as its message; anything else is logged too
        messages.show_unexpected(err, "splitting the check into holdout and tuning windows")
        return None
    return Split(holdout, tuning, cut)


def _tuning_text(split: Split | None, side: str) -> str:
    if split is None:
        return ""
    v = float(split.tuning.headline.get(side, math.nan))
    return f" · tuning windows {v:+.2f}" if math.isfinite(v) else ""


def _headline(check: liq.ModelCheck, split: Split | None = None) -> None:
    """The headline per side (partial Spearman with its interval) and the number of events used.

    With a ``split`` the headline is the holdout (windows the settings were not tuned on), and the tuning
    windows' figure stands beside it, labelled.
    """
    shown = split.holdout if split is not None else check
    head, metrics = shown.headline, shown.metrics
    label = " (holdout)" if split is not None else ""
    c1, c2, c3 = st.columns(3)
    for col, side in ((c1, "long"), (c2, "short")):
        v = float(head.get(side, math.nan))
        col.metric(
            f"{side.capitalize()}s: edge over baseline{label}",
            f"{v:+.2f}" if math.isfinite(v) else "n/a",
            delta=_interval_text(metrics, side) + _tuning_text(split, side),
            delta_color="off",
            help="Partial Spearman correlation between the model's swept USD and the recorded liquidations per "
            "candle, after removing what the plain 'big move × volume' baseline already explains. Above 0: the "
            "model adds information.",
        )
    n = check.metrics[check.metrics["metric"] == "events"]["value"].sum()
    c3.metric("Recorded events used", f"{n:,.0f}", help="Events inside the recording windows, both sides.")
    if split is not None:
        st.caption(
            f"Headline: the holdout windows (from {split.cut:%d %b %Y}), which the model's settings were not "
            f"tuned on. Beside it: the tuning windows (before {split.cut:%d %b}), where they were chosen. The "
            "tables and charts below pool every window."
        )


def _window_labels(windows: pd.DataFrame) -> dict[int | None, str]:
    """The window picker's options and their names: all windows first, then each recording window."""
    labels: dict[int | None, str] = {None: "All windows"}
    for w, start, end in zip(windows["window"].tolist(), windows["start"], windows["end"], strict=True):
        labels[int(w)] = (
            f"Window {int(w) + 1}: {pd.Timestamp(start):%b %d %H:%M} → {pd.Timestamp(end):%H:%M} UTC"
        )
    return labels


def _over_time(checked: Checked) -> None:
    """Model and recording over time, per side, for the window picked (the busiest first)."""
    per, windows = checked.check.per_candle, checked.check.windows
    labels = _window_labels(windows)
    options = list(labels)
    busiest = (
        int(windows.sort_values("n_events", ascending=False)["window"].iloc[0]) if len(windows) else None
    )
    pick = st.selectbox(
        "Window", options, index=options.index(busiest), format_func=labels.__getitem__, key="mc_window"
    )
    st.markdown("**Long liquidations**")
    vega_specs.draw(cache.check_timeseries(checked.check_id, pick, "long", per))
    st.markdown("**Short liquidations**")
    vega_specs.draw(cache.check_timeseries(checked.check_id, pick, "short", per))
    st.caption("Each series is divided by its own maximum so both fit one axis; hover for the USD values.")


def show_check(checked: Checked, config: liq.ModelConfig, split: Split | None = None) -> None:
    """Headline (the holdout, with a ``split``), metrics table, scatter per side, time series, plain words."""
    check = checked.check
    _headline(check, split)
    st.subheader("All measures, with 95 % bootstrap intervals")
    st.dataframe(metrics_table(check), hide_index=True, width="stretch")
    st.subheader("Predicted vs recorded, per candle")
    s1, s2 = st.columns(2)
    vega_specs.draw(cache.check_scatter(checked.check_id, "long", check.per_candle), s1)
    vega_specs.draw(cache.check_scatter(checked.check_id, "short", check.per_candle), s2)
    st.subheader("Over time")
    _over_time(checked)
    _explainer(check, config)


def _explainer(check: liq.ModelCheck, config: liq.ModelConfig) -> None:
    """The settings the check ran with, and what the numbers mean in plain words."""
    with st.expander("Model settings used for this check"):
        st.dataframe(settings_table(config), hide_index=True, width="stretch")
        st.caption("Change them under Model settings in the sidebar; the check reruns with the new settings.")

    with st.expander("What these numbers mean (and what they don't)", expanded=True, icon=":material/help:"):
        st.markdown(
            """
- For every 5-minute candle inside the recording, the model says how much long and short notional it
  thinks was liquidated (its *swept* USD). That is compared with what Binance actually broadcast as
  liquidations in the same candle.
- **Spearman** looks at ranks only: does the model put the busy candles above the quiet ones?
- A big candle with lots of volume liquidates people almost by definition, so a naive **baseline** (size
  of the move × volume) already ranks candles fairly well. The **partial** correlation removes what the
  baseline explains: it measures what the model's *positions and levels* add. That is the headline figure.
- **Location lift** asks whether recorded liquidations happened inside the price zones the model flagged
  more often than the zones' share of the candle's range would give by chance. Above 1 means the zones carry
  information.
- The intervals come from resampling candles. Neighbouring candles are related, so the true uncertainty is
  somewhat wider than shown.
- **The recording is a lower bound.** Binance's public stream sends at most one liquidation per symbol per
  second, so busy moments are under-counted, and only the periods when the recorder was running count.
- A good score here does not make any single level a certainty: it says the estimate ranks risk better than
  chance and better than the naive baseline on this data.
- The Dec 2024 windows of Dec 7, 13, 16 and 29 and the Oct 2025 excerpt were not used to choose the model's
  defaults (held out); the other Dec 2024 windows were.
"""
        )
        notes = check.notes
        for note in notes:
            st.caption(messages.plain(note))
