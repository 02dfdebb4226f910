"""Issue 11 item 2: every level the page names is drawn on the chart (the table lists the drawn ones)."""

from __future__ import annotations

import io
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest

import liq
from liq._chart_payload import drawn_levels
from liq._format import price_decimals
from tests.support.apptest import clear_caches
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)
from tests.test_app_pages import _app, _levels, _no_exception
from ui import tables
from ui.tables import LEVEL_LINES


def _estimate() -> liq.Estimate:
    end = datetime(2026, 1, 29, tzinfo=timezone.utc)
    data = liq.load_market_data("BTCUSDT", "5m", end - pd.Timedelta(days=7), end, source="sample").data
    return liq.estimate(data.candles, symbol=data.symbol)


def test_the_table_rows_are_the_levels_the_chart_draws() -> None:
    est = _estimate()
    shown = tables.on_chart(tables.levels_table(est), est)
    payload = liq.build_chart_payload(est, max_levels=LEVEL_LINES)
    d = price_decimals(est.last_price)
    drawn = np.round(np.array([lv["price"] for lv in payload["levels"]], dtype=float), d)
    assert len(est.levels) > len(shown) == len(drawn) > 0
    assert sorted(shown["Price"].to_numpy(dtype=float)) == sorted(drawn)


def test_drawn_levels_always_hold_the_nearest_on_each_side() -> None:
    est = _estimate()
    drawn = set(drawn_levels(est.levels, est.last_price, 3)["price"])
    lv = est.levels
    assert lv.loc[(lv.side == "long") & (lv.price < est.last_price), "price"].max() in drawn
    assert lv.loc[(lv.side == "short") & (lv.price > est.last_price), "price"].min() in drawn


def test_the_page_says_the_csv_holds_every_level() -> None:
    at = _app()
    at.run()
    _no_exception(at)
    assert len(_levels(at)) <= LEVEL_LINES + 2
    assert any("The CSV holds all" in str(c.value) for c in at.caption)


def test_a_rerun_shows_the_cached_tables_without_building_them_again(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = tables.levels_tables

    def spy(*args: Any, **kwargs: Any) -> tables.LevelsTables:
        built.append("built")
        return real(*args, **kwargs)

    monkeypatch.setattr(tables, "levels_tables", spy)
    clear_caches()  # the tables are shared: another test may have made them already
    at = _app(sym="BTCUSDT", range="7d", src="sample")
    at.run()
    _no_exception(at)
    assert built == ["built"]
    at.run()
    _no_exception(at)
    assert built == ["built"], "the second run built the tables again"
    est = _estimate()
    fresh = real(est)
    shown = _levels(at)
    assert len(shown) == len(fresh.table) > 0
    assert fresh.n_levels == len(est.levels) >= len(fresh.table)
    csv = pd.read_csv(io.BytesIO(fresh.csv))
    assert len(csv) == fresh.n_levels  # the CSV holds every level, the table only those drawn


def _pandas_levels_table(est: liq.Estimate) -> pd.DataFrame:
    """The levels table written with pandas Series operations (the oracle for the numpy-column version)."""
    lv = est.levels
    d = price_decimals(est.last_price)
    age = (pd.Timestamp(est.last_time) - pd.to_datetime(lv["first_seen"], utc=True)).map(tables._age_text)
    table = pd.DataFrame(
        {
            "Price": lv["price"].astype(float).round(d),
            "Side": lv["side"].map(tables.SIDE_NAMES).fillna(lv["side"]),
            "Est. USD": lv["notional_usd"].astype(float).round(0),
            "Distance %": lv["distance_pct"].astype(float).round(2),
            "Zone low": lv["zone_low"].astype(float).round(d),
            "Zone high": lv["zone_high"].astype(float).round(d),
            "Approaches survived": lv["approaches"].astype(int),
            "Age": age.to_numpy(),
            "Cascade risk": lv["cascade"].astype(bool),
        }
    )
    order = table["Distance %"].abs().sort_values(kind="stable").index
    return table.loc[order].reset_index(drop=True)


def _pandas_swept_table(est: liq.Estimate, limit: int) -> pd.DataFrame:
    recent = est.swept.sort_values("swept_last", ascending=False).head(limit)
    d = price_decimals(est.last_price)
    swept_last = pd.to_datetime(recent["swept_last"], utc=True)
    names = {"long": "Longs flushed", "short": "Shorts squeezed"}
    return pd.DataFrame(
        {
            "Side": recent["side"].map(names).fillna(recent["side"]),
            "Price": recent["price"].astype(float).round(d),
            "Band": [
                f"{liq._format.format_price(a, d)} – {liq._format.format_price(b, d)}"
                for a, b in zip(recent["bin_low"], recent["bin_high"], strict=True)
            ],
            "Est. USD": [liq._format.format_usd(x) for x in recent["notional_usd"]],
            "Swept at (UTC)": swept_last.dt.strftime("%Y-%m-%d %H:%M").to_numpy(),
            "Ago": (pd.Timestamp(est.last_time) - swept_last).map(tables._age_text).to_numpy(),
        }
    )


@pytest.mark.parametrize(("symbol", "interval", "days"), [("BTCUSDT", "5m", 7), ("DOGEUSDT", "1h", 30)])
def test_the_tables_equal_their_pandas_oracle(symbol: str, interval: str, days: int) -> None:
    end = datetime(2026, 1, 29, tzinfo=timezone.utc)
    data = liq.load_market_data(symbol, interval, end - pd.Timedelta(days=days), end, "sample").data
    est = liq.estimate(data.candles, config=liq.ModelConfig(time_columns=300), symbol=symbol)
    assert len(est.levels) > 3 and len(est.swept) > 1
    pd.testing.assert_frame_equal(tables.levels_table(est), _pandas_levels_table(est))
    pd.testing.assert_frame_equal(tables.swept_table(est, 15), _pandas_swept_table(est, 15))
    sw = est.swept
    want = {s: float(sw.loc[sw["side"] == s, "notional_usd"].sum()) for s in ("long", "short")}
    assert tables.levels_tables(est, data).swept_usd == want
