"""The chart payload's recorded-liquidation part: marker sizes, labels, colours, windows, caps, level hits."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from liq._check.events import RecordedEvents
from liq._check.overlay import LOWER_BOUND_NOTE, RecordedVsEstimated
from liq._format import format_price, format_usd
from liq._palette import SIDE_COLOURS
from liq._recorded_payload import (
    MARKER_RADIUS_PX,
    level_hit_texts,
    mark_level_hits,
    recorded_payload,
    swept_recorded_texts,
)

T0 = pd.Timestamp("2024-12-05 00:00", tz="UTC")
T0_S = int(T0.timestamp())


def _recorded(rows: list[tuple[int, str, float, float]], windows: list[tuple[int, int]]) -> RecordedEvents:
    secs, side, price, usd = (list(c) for c in zip(*rows, strict=True))
    p = np.asarray(price)
    ev = pd.DataFrame(
        {
            "time": T0 + pd.to_timedelta(secs, unit="s"),
            "symbol": "BTCUSDT",
            "side": side,
            "price": p,
            "qty": np.asarray(usd) / p,
            "notional_usd": np.asarray(usd, dtype=float),
            "price_kind": "avg",
        }
    )
    w = pd.DataFrame(
        {
            "start": [T0 + pd.Timedelta(seconds=a) for a, _ in windows],
            "end": [T0 + pd.Timedelta(seconds=b) for _, b in windows],
        }
    )
    return RecordedEvents(ev, w, "a hand-made recording")


def test_markers_are_sized_by_usd_coloured_by_side_and_labelled() -> None:
    rec = _recorded(
        [
            (10, "long", 94_000.0, 40_000.0),
            (70, "short", 95_000.0, 10_000.0),
            (130, "long", 93_000.0, 2_500.0),
        ],
        [(-600, 100), (120, 10_000)],
    )
    bars = T0_S + 60 * np.arange(5)
    p = recorded_payload(rec, bars, 60, 2)
    json.dumps(p, allow_nan=False)  # JSON-able, no NaN
    m = p["markers"]
    assert m["time"] == [T0_S, T0_S + 60, T0_S + 120]
    assert m["side"] == ["long", "short", "long"]
    lo, hi = MARKER_RADIUS_PX
    assert m["radius"][0] == hi and m["radius"][1] == pytest.approx(lo + (hi - lo) * 0.5)
    assert m["radius"][2] == pytest.approx(lo + (hi - lo) * 0.25)
    assert m["label"][0] == (
        f"Longs liquidated · {format_price(94_000.0, 2)} · {format_usd(40_000.0)} · 1 liquidation · "
        "2024-12-05 00:00 UTC"
    )
    assert p["colours"] == dict(SIDE_COLOURS)
    assert p["windows"] == [[T0_S, T0_S + 100], [T0_S + 120, T0_S + 300]]  # clipped to the bars
    assert p["window_bars"] == [[0, 1], [2, 4]]
    assert p["events"] == 3 and p["left_out"] == 0 and p["total_label"] == format_usd(52_500.0)
    assert p["note"] == LOWER_BOUND_NOTE and "a hand-made recording" in p["summary"]


def test_only_the_largest_markers_are_sent() -> None:
    rows = [(60 * k, "long", 90_000.0 + 1000 * k, 100.0 * (k + 1)) for k in range(10)]
    p = recorded_payload(_recorded(rows, [(0, 600)]), T0_S + 60 * np.arange(10), 60, 2, max_markers=3)
    assert p["markers"]["usd"] == [800.0, 900.0, 1000.0] and p["left_out"] == 7
    assert p["markers"]["time"] == sorted(p["markers"]["time"])


def test_nothing_in_view_says_so() -> None:
    p = recorded_payload(_recorded([(10, "long", 1.0, 1.0)], [(0, 20)]), [T0_S + 3600], 60, 4)
    assert p["events"] == 0 and p["markers"]["time"] == [] and p["windows"] == []
    assert p["summary"].startswith("No recorded liquidation of this pair in view")


def test_level_lines_learn_what_was_recorded_in_their_zone() -> None:
    levels = pd.DataFrame(
        {
            "price": [101_831.3757, 94_647.7946],
            "side": ["short", "long"],
            "zone_low": [101_000.0, 94_000.0],
            "zone_high": [102_000.0, 95_000.0],
            "recorded_usd": [0.0, 94_000.0],
            "recorded_count": [0, 3],
            "first_hit": [pd.NaT, T0 + pd.Timedelta(minutes=10)],
            "last_hit": [pd.NaT, T0 + pd.Timedelta(minutes=70)],
            "hit": [False, True],
        }
    )
    cmp = RecordedVsEstimated(levels, pd.DataFrame(), T0, T0 + pd.Timedelta(hours=2), True, 94_000.0, "x")
    lines = [
        {"price": 101_831.38, "side": "short", "label": "S"},
        {"price": 94_647.79, "side": "long", "label": "L"},
        {"price": 94_647.79, "side": "short", "label": "other side"},
    ]
    mark_level_hits(lines, cmp, 2)
    assert [ln["hit"] for ln in lines] == [False, True, False]
    assert lines[1]["hit_label"] == f"hit: {format_usd(94_000.0)}, 2024-12-05 00:10 → 01:10 UTC"
    assert lines[0]["hit_label"] == "" and lines[2]["hit_label"] == ""
    assert lines[1]["hit_title"] == f"L · hit {format_usd(94_000.0)}" and lines[0]["hit_title"] == "S"
    deaf = RecordedVsEstimated(levels, pd.DataFrame(), T0, T0, False, 0.0, "x")
    assert level_hit_texts(deaf) == ["not recorded", "not recorded"]
    swept = pd.DataFrame({"recorded_usd": [1_500.0, np.nan]})
    assert swept_recorded_texts(replace(cmp, swept=swept)) == [format_usd(1_500.0), "not recorded"]


def test_with_recorded_leaves_the_cached_payload_alone() -> None:
    from datetime import datetime, timezone

    import liq
    from liq._check.overlay import compare_with_recorded
    from liq._check.recorded import builtin_recording
    from liq._recorded_payload import with_recorded

    start, end = datetime(2024, 12, 4, 2, tzinfo=timezone.utc), datetime(2024, 12, 5, 2, tzinfo=timezone.utc)
    md = liq.load_market_data("BTCUSDT", "5m", start, end, source="sample").data
    est = liq.estimate(md.candles, symbol="BTCUSDT")
    base = liq.build_chart_payload(est)
    before = json.dumps(base, sort_keys=True)
    rec = builtin_recording("BTCUSDT", start, end)
    assert rec is not None
    out = with_recorded(base, rec, compare_with_recorded(est, rec))
    assert json.dumps(base, sort_keys=True) == before and "recorded" not in base
    json.dumps(out, allow_nan=False)
    assert out["recorded"]["events"] > 0 and all("hit" in line for line in out["levels"])
    assert set(out["recorded"]["markers"]["time"]) <= set(base["candles"]["time"])
