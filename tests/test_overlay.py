"""Recorded liquidations beside the estimate: markers on a hand-made case, levels and swept clusters met by
recorded events, the built-in recordings, and one event type through the recorder, the upload and the tail."""

from __future__ import annotations

import copy
import io
import json
from datetime import datetime, timezone
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

import liq
from liq._check import live_tail, overlay
from liq._check.events import RecordedEvents, parse_force_order, to_frame
from liq._check.recorded import builtin_recording, recorded_events, uploaded_recording
from liq._check.recorder import RECORDER_COLUMNS
from liq._errors import DataValidationError

EXAMPLE = json.loads((Path(__file__).parent / "data" / "ws_forceOrder.docexample.json").read_text())
T0 = pd.Timestamp("2024-12-05 00:00", tz="UTC")


def _events(rows: list[tuple[float, str, float, float]]) -> pd.DataFrame:
    """(seconds after T0, side, price, USD) rows as a table of events."""
    secs, side, price, usd = (list(c) for c in zip(*rows, strict=True))
    t = T0 + pd.to_timedelta(secs, unit="s")
    p = np.asarray(price)
    return pd.DataFrame(
        {
            "time": t,
            "symbol": "BTCUSDT",
            "side": side,
            "price": p,
            "qty": np.asarray(usd) / p,
            "notional_usd": np.asarray(usd, dtype=float),
            "price_kind": "avg",
        }
    )


def test_markers_group_per_bar_band_and_side() -> None:
    t0 = int(T0.timestamp())
    ev = _events(
        [
            (10, "long", 100.0, 1000.0),  # bar 0, band of 100: with the next one
            (200, "long", 100.1, 3000.0),
            (20, "short", 100.05, 700.0),  # same bar and band, other side
            (30, "long", 101.0, 200.0),  # another band (1 % away)
            (310, "long", 100.0, 50.0),  # bar 1
            (650, "long", 100.0, 5.0),  # in the missing bar (600-900): not drawn
            (1300, "long", 100.0, 9.0),  # after the last bar
            (-5, "short", 100.0, 9.0),  # before the first bar
        ]
    )
    m = overlay.aggregate_markers(ev, [t0, t0 + 300, t0 + 900], 300)
    f = m.frame
    assert m.events_shown == 5 and m.events_outside == 3 and m.band_pct == overlay.MARKER_BAND_PCT
    assert f["bar_time_s"].tolist() == [t0, t0, t0, t0 + 300]
    # within a bar, by price
    assert f["side"].tolist() == ["short", "long", "long", "long"]
    assert f["count"].tolist() == [1, 2, 1, 1]
    assert f["price"].tolist() == pytest.approx([100.05, (100.0 * 1000 + 100.1 * 3000) / 4000, 101.0, 100.0])
    assert f["notional_usd"].tolist() == [700.0, 4000.0, 200.0, 50.0]
    assert (f["price_low"].iloc[1], f["price_high"].iloc[1]) == (100.0, 100.1)
    assert (f["first_time_s"].iloc[1], f["last_time_s"].iloc[1]) == (t0 + 10, t0 + 200)
    assert m.notional_usd == 4950.0
    # bands of 5 % (band 94 holds 1.05**94 = 98.13 up to 1.05**95 = 103.03) merge 100 and 101
    wide = overlay.aggregate_markers(ev, [t0, t0 + 300, t0 + 900], 300, band_pct=5.0).frame
    assert wide["count"].tolist() == [1, 3, 1] and wide["notional_usd"].iloc[1] == 4200.0


def test_markers_of_nothing_and_a_bad_band() -> None:
    none = overlay.aggregate_markers(_events([(10, "long", 100.0, 1.0)]).iloc[:0], [0, 60], 60)
    assert none.frame.empty and list(none.frame.columns)[0] == "bar_time_s"
    with pytest.raises(DataValidationError, match="positive percentage"):
        overlay.aggregate_markers(_events([(10, "long", 100.0, 1.0)]), [0], 60, band_pct=0.0)


def _estimate_like() -> SimpleNamespace:
    """Twelve 5m candles from T0, a long and a short level, two swept long clusters."""
    times = T0 + pd.to_timedelta(np.arange(12) * 300, unit="s")
    candles = pd.DataFrame({"open_time": times, "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0})
    levels = pd.DataFrame(
        {
            "price": [105.0, 95.0],
            "side": ["short", "long"],
            "notional_usd": [2e6, 3e6],
            "zone_low": [104.5, 94.5],
            "zone_high": [105.5, 95.5],
        }
    )
    swept = pd.DataFrame(
        {
            "side": ["long", "long"],
            "price": [97.25, 98.25],
            "bin_low": [97.0, 98.0],
            "bin_high": [97.5, 98.5],
            "notional_usd": [1e6, 4e5],
            "swept_first": [times[2], times[9]],
            "swept_last": [times[3], times[9]],
        }
    )
    return SimpleNamespace(candles=candles, levels=levels, swept=swept)


def test_levels_and_swept_clusters_meet_the_recording() -> None:
    est = _estimate_like()
    ev = _events(
        [
            (60, "long", 95.2, 1000.0),  # in the long zone
            (400, "long", 95.55, 500.0),  # beyond the zone but within the 0.1 % pad
            (500, "long", 96.0, 9999.0),  # outside the zone
            (600, "short", 95.0, 8888.0),  # the other side
            (4000, "long", 95.0, 7777.0),  # after the window (12 candles = 3600 s)
            (1000, "long", 97.2, 300.0),  # in the first swept cluster, during its sweep (600..1200)
            (1250, "long", 97.3, 111.0),  # after its sweep ended
            (2750, "long", 98.3, 222.0),  # second cluster's bins, but the recording is off then
        ]
    )
    windows = pd.DataFrame({"start": [T0], "end": [T0 + pd.Timedelta(seconds=1300)]})
    out = overlay.compare_with_recorded(est, RecordedEvents(ev, windows, "a test"))
    lv = out.levels
    assert lv["side"].tolist() == ["short", "long"]
    assert lv["hit"].tolist() == [False, True]
    assert lv["recorded_usd"].tolist() == [0.0, 1500.0] and lv["recorded_count"].tolist() == [0, 2]
    assert lv["first_hit"].iloc[1] == T0 + pd.Timedelta(seconds=60)
    assert lv["last_hit"].iloc[1] == T0 + pd.Timedelta(seconds=400) and pd.isna(lv["first_hit"].iloc[0])
    sw = out.swept
    assert sw["estimated_usd"].tolist() == [1e6, 4e5]
    assert sw["covered"].tolist() == [True, False]
    assert sw["recorded_usd"].iloc[0] == 300.0 and np.isnan(sw["recorded_usd"].iloc[1])
    assert out.covered and out.source == "a test"
    assert out.window_end - out.window_start == pd.Timedelta(hours=1)
    assert out.recorded_usd == pytest.approx(ev["notional_usd"].iloc[:4].sum() + 300 + 111 + 222)
    assert "lower bound" in out.note and "one liquidation per symbol per second" in out.note


def test_levels_sharing_a_zone_share_it_out() -> None:
    """Three long levels in one wide zone: a liquidation near the top counts for the top level only."""
    est = _estimate_like()
    est.levels = pd.DataFrame(
        {
            "price": [94.0, 90.0, 86.0],
            "side": "long",
            "notional_usd": [1e6, 2e6, 3e6],
            "zone_low": 85.0,
            "zone_high": 95.5,
        }
    )
    ev = _events([(60, "long", 95.0, 1000.0), (120, "long", 87.0, 10.0)])
    windows = pd.DataFrame({"start": [T0], "end": [T0 + pd.Timedelta(hours=1)]})
    lv = overlay.compare_with_recorded(est, RecordedEvents(ev, windows, "x")).levels
    assert lv["recorded_usd"].tolist() == [1000.0, 0.0, 10.0]
    assert lv["range_low"].tolist() == [92.0, 88.0, 85.0] and lv["range_high"].tolist() == [95.5, 92.0, 88.0]


def test_a_recording_that_missed_the_window_covers_nothing() -> None:
    est = _estimate_like()
    windows = pd.DataFrame({"start": [T0 - pd.Timedelta(days=2)], "end": [T0 - pd.Timedelta(days=1)]})
    out = overlay.compare_with_recorded(est, RecordedEvents(_events([(10, "long", 95.0, 1.0)]), windows, "x"))
    assert not out.covered and not out.swept["covered"].any()


def test_builtin_recordings_are_found_where_they_overlap() -> None:
    dec = builtin_recording("btcusdt", "2024-12-04 12:00", "2024-12-05 02:00")
    assert dec is not None and dec.source == "the built-in Dec 2024 BTCUSDT recording"
    assert (dec.events["symbol"] == "BTCUSDT").all() and len(dec.events) == 2463
    assert dec.windows["start"].iloc[0] == dec.events["time"].iloc[0]
    assert builtin_recording("ETHUSDT", "2024-12-04", "2024-12-06") is None  # Dec 2024 is BTCUSDT only
    jun = builtin_recording("SOLUSDT", "2025-06-23 20:00", "2025-06-23 22:00")
    assert jun is not None and jun.source.startswith("the built-in June 2025")
    assert len(jun.events) == int((liq._check.builtin.set_d_liquidations()["symbol"] == "SOLUSDT").sum())
    assert builtin_recording("BTCUSDT", "2025-06-24 12:00", "2025-06-24 13:00") is None


def test_dec_2024_over_the_builtin_candles() -> None:
    start = datetime(2024, 12, 3, 2, tzinfo=timezone.utc)
    end = datetime(2024, 12, 5, 2, tzinfo=timezone.utc)
    md = liq.load_market_data("BTCUSDT", "5m", start, end, source="sample").data
    est = liq.estimate(md.candles, symbol="BTCUSDT")
    rec = builtin_recording("BTCUSDT", start, end)
    assert rec is not None
    out = overlay.compare_with_recorded(est, rec)
    t = rec.events["time"]
    shown = rec.events[(t >= out.window_start) & (t < out.window_end)]
    assert len(shown) > 50 and out.covered
    assert out.recorded_usd == pytest.approx(shown["notional_usd"].sum())
    assert len(out.levels) == len(est.levels) and len(out.swept) == len(est.swept)
    assert out.levels["recorded_usd"].sum() <= out.recorded_usd * len(out.levels)
    bars = (md.candles["open_time"].astype("int64") // 10**9).to_numpy()
    m = overlay.aggregate_markers(rec.events, bars, 300)
    assert m.events_shown == len(shown) and m.notional_usd == pytest.approx(out.recorded_usd)
    assert m.frame["count"].sum() == len(shown) and len(m.frame) < len(shown)  # dense minutes merge


def _message(i: int, side: str) -> dict[str, object]:
    data = copy.deepcopy(EXAMPLE)
    data["E"] = 1733330785000 + 1000 * i
    data["o"]["T"] = data["E"]
    data["o"]["S"] = side
    data["o"]["z"] = str(0.01 * (i + 1))
    return {"stream": "!forceOrder@arr", "data": data}


def test_one_event_type_through_recorder_rows_upload_and_tail() -> None:
    messages = [_message(i, "SELL" if i % 2 else "BUY") for i in range(4)]
    events = [parse_force_order(m) for m in messages]
    assert all(e is not None for e in events)
    as_rows = "\n".join(
        [",".join(RECORDER_COLUMNS)] + [",".join(e.recorder_row().values()) for e in events if e is not None]
    )
    uploaded = uploaded_recording(io.StringIO(as_rows + "\n"), "BTCUSDT", "the test file")
    tail = live_tail.LiveTail("ws://127.0.0.1:9/", clock=lambda: 1733330800.0)  # never started
    for m in messages:
        tail._take(m)
    direct = to_frame(e for e in events if e is not None)
    assert_frame_equal(uploaded.events, direct)
    assert_frame_equal(tail.events("BTCUSDT"), direct)
    assert uploaded.source == "the test file" and len(uploaded.windows) == 1


def test_recorded_events_keep_the_recorders_windows() -> None:
    ev = _events([(0, "long", 100.0, 1.0), (7200, "long", 100.0, 1.0)])
    rec = recorded_events(ev.assign(symbol=["BTCUSDT", "ETHUSDT"]), "BTCUSDT", "x")
    assert len(rec.events) == 1 and len(rec.windows) == 2  # the windows are the recorder's, from all symbols
