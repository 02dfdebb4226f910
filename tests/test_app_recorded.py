"""AppTest of recorded liquidations on the main page: the built-in Dec 2024 recording reached through ``end``,
an uploaded recording, and a past ``end`` carried by the share link. The network is blocked (conftest)."""

from __future__ import annotations

import re

import pandas as pd
from streamlit.testing.v1 import AppTest

from liq._check.events import LiquidationEvent
from liq._check.recorded import builtin_recording
from liq._check.recorder import RECORDER_COLUMNS
from liq._format import format_usd
from tests.support.apptest import app_test, fresh_caches  # noqa: F401 (an autouse fixture)
from tests.support.offline import offline_like_this_machine  # noqa: F401 (an autouse fixture)

PAST = {"src": "sample", "sym": "BTCUSDT", "iv": "5m", "range": "3d", "end": "2024-12-05T02:00"}


def _run(**params: str) -> AppTest:
    at = app_test(params)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _table(at: AppTest, column: str) -> pd.DataFrame:
    for df in at.dataframe:
        if isinstance(df.value, pd.DataFrame) and column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a {column!r} column")


def _captions(at: AppTest) -> list[str]:
    """Caption texts as read (without the backslashes that keep user text from being markdown)."""
    return [str(c.value).replace("\\", "") for c in at.caption]


def test_a_past_end_shows_the_builtin_recording_and_its_hits() -> None:
    at = _run(**PAST)
    rec = builtin_recording("BTCUSDT", "2024-12-02T02:00Z", "2024-12-05T02:00Z")
    assert rec is not None
    dots = [c for c in _captions(at) if c.startswith("Dots: liquidations recorded by")]
    assert dots and "the built-in Dec 2024 BTCUSDT recording" in dots[0]
    levels = _table(at, "Recorded")
    assert levels["Recorded"].str.startswith("hit:").any()  # some levels were hit...
    assert (levels["Recorded"] == "").any()  # ...and some were not
    swept = _table(at, "Recorded USD")
    assert {"Est. USD", "Recorded USD"} <= set(swept.columns)
    assert any("lower bound" in c.lower() for c in _captions(at))
    hits = int(levels["Recorded"].str.startswith("hit:").sum())
    # the caption counts every level (the table lists the ones drawn on the chart, a subset)
    m = re.search(r"(\d+) of (\d+) levels were hit", dots[0])
    assert m is not None and int(m.group(1)) >= hits and int(m.group(2)) >= len(levels)
    assert at.query_params["end"] == "2024-12-05T02:00"  # the share link carries the end


def test_the_view_ends_at_end() -> None:
    at = _run(**PAST)
    notes = _captions(at) + [str(i.value).replace("\\", "") for i in at.info]
    assert any("2024-12-02 02:00 → 2024-12-05 01:55 UTC" in n for n in notes), notes  # 3 days up to the end
    assert any(c.startswith("BTCUSDT · 5m · 3d to 2024-12-05T02:00 UTC") for c in _captions(at))
    assert not at.sidebar.toggle(key="sb_live").value  # a past window does not refresh


def _recorder_csv(events: list[LiquidationEvent]) -> bytes:
    rows = [",".join(RECORDER_COLUMNS)] + [",".join(e.recorder_row().values()) for e in events]
    return ("\n".join(rows) + "\n").encode()


def test_an_uploaded_recording_is_drawn_instead() -> None:
    at = _run(**PAST)
    t0 = int(pd.Timestamp("2024-12-04T20:00Z").timestamp() * 1000)
    mine = [
        LiquidationEvent(t0 + 60_000 * k, t0 + 60_000 * k, "BTCUSDT", "SELL", "LIMIT", "IOC", "FILLED",
                         0.5, 96_000.0 + k, 96_010.0 + k, 0.5, 0.5)
        for k in range(6)
    ]  # fmt: skip
    at.file_uploader(key="recorded_upload").upload("my_liqs.csv", _recorder_csv(mine), "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    dots = [c for c in _captions(at) if c.startswith("Dots: liquidations recorded by")]
    assert dots and "your file my_liqs.csv" in dots[0]
    assert f"{format_usd(sum(e.notional_usd for e in mine))} in this window" in dots[0]


def test_a_bad_upload_is_a_plain_message() -> None:
    at = _run(**PAST)
    at.file_uploader(key="recorded_upload").upload("x.csv", b"a,b\n1,2\n", "text/csv").run()
    assert not at.exception
    warnings = [str(w.value) for w in at.warning]
    assert any("is not a liquidation recording" in w for w in warnings)
