"""load_liquidations / load_gaps: the three layouts, side semantics, notional, and fix-it errors."""

from __future__ import annotations

import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from liq._check.recordings import LIQUIDATION_COLUMNS, load_gaps, load_liquidations
from liq._errors import DataValidationError
from liq._sources._files import MAX_RECORDING_ROWS

DEC = "BTCUSDT_liquidations_2024-12-04_2024-12-29.csv.gz"
OCT = "BTCUSDT_ETHUSDT_liquidations_excerpt_2025-10-22.csv.gz"


def _csv(text: str) -> io.StringIO:
    return io.StringIO(text.strip() + "\n")


def test_dec_2024_record(data_dir: Path) -> None:
    df = load_liquidations(data_dir / DEC)
    assert tuple(df.columns) == LIQUIDATION_COLUMNS
    assert len(df) == 2463
    assert str(df["time"].dtype) == "datetime64[ns, UTC]"
    assert df["time"].is_monotonic_increasing
    assert set(df["side"]) == {"long", "short"}
    assert (df["symbol"] == "BTCUSDT").all()
    # 1,844 rows with p and ap, 133 "ap (inferred)" and the ambiguous row use ap; 485 rows only have p
    assert df["price_kind"].value_counts().to_dict() == {"avg": 1977, "order": 486}
    first = df.iloc[0]  # 2024-12-04T16:46:25.584Z SELL ap 94809.6, z 0.013
    assert first["time"] == pd.Timestamp("2024-12-04T16:46:25.584Z")
    assert first["side"] == "long" and first["price"] == 94809.6
    assert first["notional_usd"] == pytest.approx(94809.6 * 0.013)
    assert np.allclose(df["notional_usd"], df["price"] * df["qty"])


def test_oct_2025_excerpt_matches_its_usd_value(data_dir: Path) -> None:
    df = load_liquidations(data_dir / OCT)
    raw = pd.read_csv(data_dir / OCT).sort_values("time_ms", kind="stable")
    assert len(df) == 64
    assert df["symbol"].value_counts().to_dict() == {"ETHUSDT": 35, "BTCUSDT": 29}
    assert np.allclose(df["notional_usd"].to_numpy(), raw["usd_value"].to_numpy())
    assert (df["price_kind"] == "avg").all()


def test_side_semantics_follow_binance() -> None:
    df = load_liquidations(
        _csv(
            "time_ms,symbol,side,avg_price,filled_qty\n"
            "1733330785584,btcusdt,SELL,100,2\n"
            "1733330785585,BTCUSDT,buy,101,1\n"
        )
    )
    assert df["side"].tolist() == ["long", "short"]  # SELL closes a long, BUY closes a short
    assert df["symbol"].tolist() == ["BTCUSDT", "BTCUSDT"]
    assert df["notional_usd"].tolist() == [200.0, 101.0]


def test_avg_price_preferred_over_order_price_and_filled_qty_over_orig() -> None:
    df = load_liquidations(
        _csv(
            "time_ms,symbol,side,orig_qty,price,avg_price,filled_accumulated_qty\n"
            "1733330785584,BTCUSDT,SELL,5,90,95,2\n"
            "1733330785585,BTCUSDT,SELL,5,90,,3\n"
        )
    )
    assert df["price"].tolist() == [95.0, 90.0]
    assert df["qty"].tolist() == [2.0, 3.0]
    assert df["price_kind"].tolist() == ["avg", "order"]


def test_chiefjurist_layout_with_naive_timestamps_is_utc() -> None:
    df = load_liquidations(
        _csv(
            "timestamp,symbol,side,avg_price,filled_qty,usd_value\n"
            "2025-10-22 09:38:11.258,ETHUSDT,SELL,3846.52,0.063,242.33076\n"
        )
    )
    assert df["time"].iloc[0] == pd.Timestamp("2025-10-22T09:38:11.258Z")


def test_own_output_round_trips(data_dir: Path, tmp_path: Path) -> None:
    df = load_liquidations(data_dir / DEC)
    path = tmp_path / "clean.csv.gz"
    df.to_csv(path, index=False)
    assert_frame_equal(load_liquidations(path), df)
    assert_frame_equal(load_liquidations(df), df)


def test_does_not_mutate_a_given_frame() -> None:
    raw = pd.DataFrame(
        {
            "time_ms": [1733330785585, 1733330785584],
            "symbol": ["BTCUSDT", "BTCUSDT"],
            "side": ["BUY", "SELL"],
            "avg_price": [1.0, 2.0],
            "qty": [1.0, 1.0],
        }
    )
    before = raw.copy()
    out = load_liquidations(raw)
    assert_frame_equal(raw, before)
    assert out["side"].tolist() == ["long", "short"]  # sorted by time


def test_gzip_buffer() -> None:
    data = gzip.compress(b"time_ms,symbol,side,avg_price,qty\n1733330785584,BTCUSDT,SELL,1,1\n")
    assert len(load_liquidations(io.BytesIO(data))) == 1


def test_header_only_is_an_empty_frame() -> None:
    df = load_liquidations(_csv("time_ms,symbol,side,avg_price,filled_qty"))
    assert df.empty and tuple(df.columns) == LIQUIDATION_COLUMNS


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("a,b\n1,2", "missing symbol, side"),
        ("time_ms,symbol,side,avg_price\n1733330785584,BTCUSDT,SELL,1", "filled quantity"),
        ("time_ms,symbol,side,filled_qty\n1733330785584,BTCUSDT,SELL,1", "a price"),
        ("symbol,side,avg_price,qty\nBTCUSDT,SELL,1,1", "no time column"),
        ("time_ms,symbol,side,avg_price,qty\n1733330785584,BTCUSDT,HOLD,1,1", "not BUY or SELL"),
        ("time_ms,symbol,side,avg_price,qty\n1733330785584,BTCUSDT,SELL,-1,1", "price on data row 1"),
        ("time_ms,symbol,side,avg_price,qty\n1733330785584,BTCUSDT,SELL,1,0", "quantity on data row 1"),
        ("time_ms,symbol,side,avg_price,qty\n1733330785584,BTCUSDT,SELL,abc,1", "not a number"),
        ("time_ms,symbol,side,avg_price,qty\n1733330785,BTCUSDT,SELL,1,1", "epoch milliseconds"),
        ("time,symbol,side,avg_price,qty\nyesterday,BTCUSDT,SELL,1,1", "could not read the time"),
    ],
)
def test_validation_errors(text: str, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        load_liquidations(io.StringIO(text))


def test_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(DataValidationError, match="No liquidation file"):
        load_liquidations(tmp_path / "nope.csv")


def test_load_gaps() -> None:
    g = load_gaps(
        _csv(
            "start_utc,end_utc,reason\n2024-12-04T18:00:00Z,2024-12-04T18:01:00Z,x\n2024-12-04T17:00:00Z,2024-12-04T17:00:05Z,y"
        )
    )
    assert g["reason"].tolist() == ["y", "x"]
    assert str(g["start"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(DataValidationError, match="reversed"):
        load_gaps(_csv("start_utc,end_utc\n2024-12-04T18:00:00Z,2024-12-04T17:00:00Z"))
    assert load_gaps("/nonexistent/path.gaps.csv").empty


# -- hostile recordings: capped, plain messages, and the next file still loads ---------------------------------

HEADER = "time_ms,symbol,side,avg_price,filled_qty\n"


def _events(n: int) -> bytes:
    return (HEADER + "".join(f"{1733330785584 + i},BTCUSDT,SELL,94809.6,0.5\n" for i in range(n))).encode()


def test_a_small_gzip_that_unpacks_to_gigabytes_is_refused_early() -> None:
    """The issue's case: a 0.45 MB gzip recording took the server from 648 MB to 2.7 GB."""
    line = b"1733330785584,BTCUSDT,SELL,94809.6,0.5\n"
    bomb = gzip.compress(HEADER.encode() + line * 2_000_000, compresslevel=9)
    assert len(bomb) < 500_000
    with pytest.raises(DataValidationError) as info:
        load_liquidations(io.BytesIO(bomb))
    assert str(info.value) == (
        "The liquidation recording is too large (more than 20.0 MB unpacked). A file may hold at most 200,000 "
        "rows and 20.0 MB (after unpacking); upload a shorter time range."
    )


def test_a_recording_above_the_row_limit_is_refused() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"has more than 200,000 rows\. A file may hold at most 200,000 rows and 20\.0 MB",
    ):
        load_liquidations(io.BytesIO(_events(MAX_RECORDING_ROWS + 1)))
    assert len(load_liquidations(io.BytesIO(_events(3)))) == 3  # the next upload works


def test_a_zipped_recording_is_read_within_the_same_limits() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("rec.csv", _events(5))
    assert len(load_liquidations(io.BytesIO(buf.getvalue()))) == 5


def test_cr_only_line_endings_in_a_recording() -> None:
    assert len(load_liquidations(io.BytesIO(_events(4).replace(b"\n", b"\r")))) == 4


@pytest.mark.parametrize(
    ("row", "match"),
    [
        (
            "2300-01-01T00:00:00Z,BTCUSDT,SELL,1,1",
            r"the time '2300-01-01T00:00:00Z' on data row 1 is outside 2017-01-01 to 2100-01-01",
        ),
        ("1990-01-01T00:00:00Z,BTCUSDT,SELL,1,1", r"outside 2017-01-01 to 2100-01-01"),
        (
            "2024-12-04T16:46:25Z,**BOLD**[x](https://evil.example),SELL,1,1",
            r"the symbol on data row 1 is not a Binance contract name",
        ),
        (
            "2024-12-04T16:46:25Z,BTCUSDT,SELL,1e300,1",
            r"the price on data row 1 is missing, not positive or absurd \(1e\+300\)",
        ),
    ],
)
def test_hostile_values_get_a_plain_message(row: str, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        load_liquidations(io.StringIO("time,symbol,side,avg_price,qty\n" + row + "\n"))


def test_epoch_times_follow_the_same_range() -> None:
    with pytest.raises(DataValidationError, match=r"epoch milliseconds from 2017-01-01 to 2100-01-01"):
        load_liquidations(io.StringIO(HEADER + "9999999999999,BTCUSDT,SELL,1,1\n"))


def test_quarterly_contracts_in_a_recording_are_kept() -> None:
    ev = load_liquidations(io.StringIO(HEADER + "1750636800000,BTCUSDT_250627,SELL,1,1\n"))
    assert ev["symbol"].tolist() == ["BTCUSDT_250627"]
