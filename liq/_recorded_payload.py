"""The chart payload's recorded-liquidation part: markers, the windows the recording listened in, level hits.

Pure numpy/pandas (no streamlit). :func:`recorded_payload` turns a
:class:`~liq._check.events.RecordedEvents` into what ``liq_chart`` draws over the heatmap:

* one circle per (bar, price band, side) marker (:func:`liq._check.overlay.aggregate_markers`), at the bar's
  time and the USD-weighted fill price, its radius growing with the square root of its USD (area ∝ USD, from
  :data:`MARKER_RADIUS_PX`), in the side's colour (:mod:`liq._palette`), with the hover text written here
  (:mod:`liq._format`);
* the windows the recording listened in, clipped to the bars, so the chart can show where it was deaf;
* the legend text, the lower-bound note and the totals.

:func:`mark_level_hits` adds to the payload's level lines how much was recorded within each level's zone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ._check.events import RecordedEvents
from ._check.overlay import LOWER_BOUND_NOTE, Markers, RecordedVsEstimated, aggregate_markers
from ._format import format_price, format_usd, round_price
from ._palette import SIDE_COLOURS

__all__ = [
    "MARKER_RADIUS_PX",
    "MAX_MARKERS",
    "level_hit_texts",
    "mark_level_hits",
    "recorded_payload",
    "swept_recorded_texts",
    "with_recorded",
]

#: Radius of the smallest and the largest marker, CSS pixels.
MARKER_RADIUS_PX = (3.0, 14.0)
#: The largest markers (by USD) sent to the browser; smaller ones beyond it are left out (and counted).
MAX_MARKERS = 2000


def _utc(seconds: Any) -> str:
    return f"{pd.Timestamp(int(seconds), unit='s', tz='UTC'):%Y-%m-%d %H:%M} UTC"


def _span(first_s: int, last_s: int) -> str:
    a, b = _utc(first_s), _utc(last_s)
    return a if a == b else f"{a[:-4]} → {b[11:]}"


def _marker_label(side: str, price: float, usd: float, count: int, first_s: int, last_s: int, d: int) -> str:
    who = "Longs" if side == "long" else "Shorts"
    events = "1 liquidation" if count == 1 else f"{count} liquidations"
    return f"{who} liquidated · {format_price(price, d)} · {format_usd(usd)} · {events} · {_span(first_s, last_s)}"


def _radii(usd: npt.NDArray[np.float64]) -> list[float]:
    lo, hi = MARKER_RADIUS_PX
    top = float(usd.max()) if usd.size else 0.0
    if top <= 0:
        return [lo] * int(usd.size)
    return [round(lo + (hi - lo) * float(x), 2) for x in np.sqrt(usd / top)]


def _markers(m: Markers, decimals: int, max_markers: int) -> tuple[dict[str, list[Any]], int]:
    f = m.frame
    if len(f) > max_markers:
        f = f.nlargest(max_markers, "notional_usd", keep="first").sort_values(["bar_time_s", "price"])
    usd = f["notional_usd"].to_numpy(dtype=np.float64)
    rows = zip(
        f["side"].astype(str),
        f["price"].to_numpy(dtype=np.float64),
        usd,
        f["count"].to_numpy(dtype=np.int64),
        f["first_time_s"].to_numpy(dtype=np.int64),
        f["last_time_s"].to_numpy(dtype=np.int64),
        strict=True,
    )
    labels = [_marker_label(s, p, u, int(n), int(a), int(b), decimals) for s, p, u, n, a, b in rows]
    out: dict[str, list[Any]] = {
        "time": [int(x) for x in f["bar_time_s"]],
        "price": [round_price(p, decimals + 2) for p in f["price"].to_numpy(dtype=np.float64)],
        "side": [str(s) for s in f["side"]],
        "usd": [float(x) for x in usd],
        "radius": _radii(usd),
        "label": labels,
    }
    return out, len(m.frame) - len(f)


def _windows(rec: RecordedEvents, t0_s: int, t1_s: int) -> list[list[int]]:
    """The listening windows clipped to [t0, t1] (epoch seconds)."""
    if len(rec.windows) == 0:
        return []
    ws = pd.DatetimeIndex(pd.to_datetime(rec.windows["start"], utc=True)).as_unit("s").asi8
    we = pd.DatetimeIndex(pd.to_datetime(rec.windows["end"], utc=True)).as_unit("s").asi8
    a, b = np.maximum(ws, t0_s), np.minimum(we, t1_s)
    keep = b >= a
    return [[int(x), int(y)] for x, y in zip(a[keep], b[keep], strict=True)]


def _window_bars(windows: list[list[int]], bars: npt.NDArray[np.int64]) -> list[list[int]]:
    """The listening windows as [first bar, last bar] indices (the bars that contain their ends)."""
    if not windows or len(bars) == 0:
        return []
    ends = np.asarray(windows, dtype=np.int64)
    idx = np.clip(np.searchsorted(bars, ends, side="right") - 1, 0, len(bars) - 1)
    return [[int(a), int(b)] for a, b in idx]


def recorded_payload(
    recorded: RecordedEvents,
    bar_times_s: npt.ArrayLike,
    interval_s: int,
    decimals: int,
    *,
    max_markers: int = MAX_MARKERS,
) -> dict[str, Any]:
    """The recorded-liquidation part of the chart payload (JSON-able, never NaN).

    Parameters
    ----------
    recorded : RecordedEvents
        Events of the chart's symbol and the windows the recording listened in.
    bar_times_s : array of int
        The chart's bars (open times, UTC epoch seconds) and ``interval_s`` their length.
    decimals : int
        Price decimals of the chart (:func:`liq._format.price_decimals` of the last price).
    max_markers : int
        At most this many markers, the largest by USD.

    Returns
    -------
    dict
        ``markers`` (``time, price, side, usd, radius, label`` lists), ``windows`` (``[start_s, end_s]``) and
        ``window_bars`` (the same as ``[first bar, last bar]`` indices),
        ``colours``, ``legend``, ``source``, ``note``, ``events`` (shown), ``left_out`` (markers beyond
        ``max_markers``), ``total_label``, ``summary``.
    """
    bars = np.asarray(bar_times_s, dtype=np.int64)
    m = aggregate_markers(recorded.events, bars, int(interval_s))
    markers, left_out = _markers(m, int(decimals), int(max_markers))
    t0 = int(bars[0]) if len(bars) else 0
    t1 = int(bars[-1]) + int(interval_s) if len(bars) else 0
    total = m.notional_usd
    windows = _windows(recorded, t0, t1)
    summary = (
        f"{m.events_shown:,} recorded liquidations ({format_usd(total)}) from {recorded.source}"
        if m.events_shown
        else f"No recorded liquidation of this pair in view ({recorded.source})"
    )
    return {
        "markers": markers,
        "windows": windows,
        "window_bars": _window_bars(windows, bars),
        "colours": dict(SIDE_COLOURS),
        "legend": "Recorded liquidations",
        "source": recorded.source,
        "note": LOWER_BOUND_NOTE,
        "events": int(m.events_shown),
        "left_out": int(left_out),
        "total_label": format_usd(total),
        "summary": summary,
    }


def level_hit_texts(comparison: RecordedVsEstimated) -> list[str]:
    """What was recorded within each level's zone, in words, one per row of ``comparison.levels``.

    ``"hit: $1.5M, 2024-12-04 20:48 → 23:37 UTC"`` for a level that recorded liquidations hit, ``""`` for one
    they did not, ``"not recorded"`` when the recording did not listen during the window at all.
    """
    rows = comparison.levels
    if not comparison.covered:
        return ["not recorded"] * len(rows)
    out = []
    for usd, n, first, last in zip(
        rows["recorded_usd"], rows["recorded_count"], rows["first_hit"], rows["last_hit"], strict=True
    ):
        if int(n) <= 0:
            out.append("")
            continue
        span = _span(int(pd.Timestamp(first).timestamp()), int(pd.Timestamp(last).timestamp()))
        out.append(f"hit: {format_usd(float(usd))}, {span}")
    return out


def mark_level_hits(levels: list[dict[str, Any]], comparison: RecordedVsEstimated, decimals: int) -> None:
    """Add ``hit``, ``hit_label`` and ``hit_title`` (the line's title) to the payload's level lines (in place).

    A line matches the row of ``comparison.levels`` of its side whose price, rounded like the line, is the same;
    ``hit_label`` is that row's :func:`level_hit_texts`.
    """
    rows = comparison.levels
    texts = level_hit_texts(comparison)
    key = {
        (str(side), round_price(float(price), decimals)): (float(usd), int(n), text)
        for side, price, usd, n, text in zip(
            rows["side"], rows["price"], rows["recorded_usd"], rows["recorded_count"], texts, strict=True
        )
    }
    for line in levels:
        usd, n, text = key.get((str(line["side"]), float(line["price"])), (0.0, 0, ""))
        line["hit"] = n > 0
        line["hit_label"] = text if n > 0 else ""
        label = str(line.get("label", ""))
        line["hit_title"] = f"{label} · hit {format_usd(usd)}" if n > 0 else label


def swept_recorded_texts(comparison: RecordedVsEstimated) -> list[str]:
    """The recorded USD of each swept cluster in words (``"not recorded"`` when the recording was deaf then)."""
    swept = comparison.swept
    usd = swept["recorded_usd"].to_numpy(dtype=np.float64) if len(swept) else np.zeros(0)
    return [format_usd(float(x)) if np.isfinite(x) else "not recorded" for x in usd]


def with_recorded(
    payload: dict[str, Any], recorded: RecordedEvents, comparison: RecordedVsEstimated | None = None
) -> dict[str, Any]:
    """A copy of a chart payload (:func:`liq.build_chart_payload`) with ``recorded`` drawn over it.

    Adds ``payload["recorded"]`` (:func:`recorded_payload` on the payload's own bars) and, with a
    ``comparison``, marks the level lines real liquidations hit (:func:`mark_level_hits`). The given payload
    (often a cached one) is not modified.
    """
    out = dict(payload)
    d = int(payload["price_decimals"])
    out["recorded"] = recorded_payload(recorded, payload["candles"]["time"], int(payload["interval_s"]), d)
    levels = [dict(line) for line in payload.get("levels", [])]
    if comparison is not None:
        mark_level_hits(levels, comparison, d)
    out["levels"] = levels
    return out
