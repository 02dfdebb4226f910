"""CSV upload: accepted layouts, and a precise message for each kind of bad file."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import pandas as pd
import pytest

import liq
from liq._errors import DataValidationError
from liq._sources.upload import read_candles_csv, read_open_interest_csv
from tests.test_market_live import kline_row, real_5m

ENGINE_HEADER = "open_time,open,high,low,close,volume"
BINANCE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore"
)


def binance_lines(n: int = 30, start: int = 0) -> list[str]:
    """Real BTCUSDT 5m rows in Binance's 12-column kline layout."""
    rows = real_5m().iloc[start : start + n]
    return [",".join(str(v) for v in kline_row(r)) for r in rows.itertuples()]


def engine_lines(n: int = 30) -> list[str]:
    rows = real_5m().iloc[:n]
    return [
        f"{pd.Timestamp(int(r.open_time_ms), unit='ms'):%Y-%m-%d %H:%M:%S},{r.open},{r.high},{r.low},{r.close},{r.volume}"
        for r in rows.itertuples()
    ]


def csv_bytes(lines: list[str], header: str | None = None) -> bytes:
    return ("\n".join(([header] if header else []) + lines) + "\n").encode()


# ---------------------------------------------------------------- accepted layouts


def test_binance_layout_without_header() -> None:
    c = read_candles_csv(csv_bytes(binance_lines()))
    assert list(c.columns) == [*ENGINE_HEADER.split(","), "quote_volume", "taker_buy_volume"]
    assert len(c) == 30 and c["open_time"].dtype == "datetime64[ns, UTC]"
    assert c["close"].iloc[0] == pytest.approx(real_5m()["close"].iloc[0])


def test_binance_layout_with_header_and_bom() -> None:
    data = b"\xef\xbb\xbf" + csv_bytes(binance_lines(), BINANCE_HEADER)
    c = read_candles_csv(data)
    assert len(c) == 30 and "taker_buy_volume" in c.columns


def test_engine_columns_with_iso_dates() -> None:
    c = read_candles_csv(csv_bytes(engine_lines(), ENGINE_HEADER))
    assert list(c.columns) == ENGINE_HEADER.split(",")
    assert c["open_time"].iloc[0] == pd.Timestamp("2024-11-20", tz="UTC")


def test_sample_file_layout_is_accepted(data_dir: Path) -> None:
    import gzip

    raw = gzip.decompress((data_dir / "ETHUSDT_5m_2025-10-15_2025-10-22.csv.gz").read_bytes())
    c = read_candles_csv(raw)
    assert len(c) == 2304


def test_path_and_file_object_sources(tmp_path: Path) -> None:
    path = tmp_path / "k.csv"
    path.write_bytes(csv_bytes(binance_lines()))
    assert len(read_candles_csv(path)) == 30
    assert len(read_candles_csv(str(path))) == 30
    assert len(read_candles_csv(io.BytesIO(path.read_bytes()))) == 30
    assert len(read_candles_csv(io.StringIO(path.read_text()))) == 30


def test_load_upload_with_open_interest() -> None:
    oi_lines = [f"{int(ms)},{8e9 + i}" for i, ms in enumerate(real_5m()["open_time_ms"].iloc[:30])]
    d = liq.load_upload(
        csv_bytes(binance_lines()), csv_bytes(oi_lines, "time,open_interest_usd"), symbol="btcusdt"
    )
    assert d.source == "upload" and d.interval == "5m" and d.symbol == "BTCUSDT"
    assert d.open_interest is not None and len(d.open_interest) == 30
    assert "Open interest: uploaded file (30 rows)" in d.note


def test_load_upload_reports_gaps_and_infers_interval() -> None:
    lines = binance_lines(40)
    del lines[10:12]
    d = liq.load_upload(csv_bytes(lines))
    assert d.interval == "5m" and "1 irregular step(s)" in d.note


def test_open_interest_layouts() -> None:
    api = b"symbol,sumOpenInterest,sumOpenInterestValue,timestamp\nBTCUSDT,1,150570784.07,1583127900000\nBTCUSDT,1,149940752.14,1583128200000\n"
    assert read_open_interest_csv(api)["open_interest_usd"].iloc[1] == pytest.approx(149940752.14)
    metrics = (
        b"create_time,symbol,sum_open_interest,sum_open_interest_value\n"
        b"2024-12-01 00:05:00,BTCUSDT,1,8.0e9\n2024-12-01 00:10:00,BTCUSDT,1,8.1e9\n"
    )
    assert read_open_interest_csv(metrics)["time"].iloc[0] == pd.Timestamp("2024-12-01 00:05", tz="UTC")


def test_epoch_seconds_and_microseconds() -> None:
    lines = binance_lines(12)
    as_s = [",".join([str(int(line.split(",")[0]) // 1000), *line.split(",")[1:]]) for line in lines]
    as_us = [",".join([str(int(line.split(",")[0]) * 1000), *line.split(",")[1:]]) for line in lines]
    a, b, c = (read_candles_csv(csv_bytes(x)) for x in (lines, as_s, as_us))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_input_is_not_modified() -> None:
    data = bytearray(csv_bytes(binance_lines()))
    before = bytes(data)
    read_candles_csv(data)
    assert bytes(data) == before


# ---------------------------------------------------------------- bad files, one precise message each


def _replace_field(lines: list[str], row: int, col: int, value: str) -> list[str]:
    out = list(lines)
    fields = out[row].split(",")
    fields[col] = value
    out[row] = ",".join(fields)
    return out


def _pickle_bytes() -> bytes:
    return pickle.dumps(real_5m().head(3))


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("k.csv", "\n".join(binance_lines()))
    return buf.getvalue()


_B = binance_lines()
BAD_CANDLE_FILES: list[tuple[str, bytes, str]] = [
    ("empty", b"", r"^The candles file is empty\.$"),
    ("blank lines only", b"\n\n  \n", r"^The candles file is empty\.$"),
    (
        "pickle",
        _pickle_bytes(),
        r"binary Python pickle; only CSV text is accepted and pickles are never opened",
    ),
    ("zip", _zip_bytes(), r"zip archive .*unzip it"),
    ("latin-1", csv_bytes(_B[:3]) + "caf\xe9\n".encode("latin-1"), r"not UTF-8 text \(bad byte at line 4\)"),
    (
        "headerless 6 columns",
        csv_bytes([",".join(line.split(",")[:6]) for line in _B]),
        r"no header line and 6 columns.*12-column kline layout.*add a header line",
    ),
    (
        "missing column",
        csv_bytes(
            [",".join(line.split(",")[:5]) for line in engine_lines()], "open_time,open,high,low,close"
        ),
        r"missing column\(s\) volume \(found: open_time, open, high, low, close\)",
    ),
    (
        "duplicate header",
        csv_bytes(engine_lines(), "open_time,open,high,low,close,close"),
        r"has the column 'close' twice \(columns 5 and 6\)",
    ),
    (
        "ragged row",
        csv_bytes(_B[:5] + [_B[5] + ",extra"] + _B[6:]),
        r"has 13 fields at line 6 but 12 in the first line",
    ),
    (
        "text in a price",
        csv_bytes(_replace_field(_B, 7, 4, "97k")),
        r"'close' at line 8 is '97k', which is not a number",
    ),
    ("empty cell", csv_bytes(_replace_field(_B, 3, 2, "")), r"'high' is missing \(empty or NaN\) at line 4"),
    (
        "NaN cell",
        csv_bytes(_replace_field(_B, 9, 5, "NaN")),
        r"'volume' is missing \(empty or NaN\) at line 10",
    ),
    (
        "infinite",
        csv_bytes(_replace_field(_B, 2, 1, "inf")),
        r"'open' at line 3 is 'inf'; it must be a finite number",
    ),
    (
        "duplicate time",
        csv_bytes(_B[:12] + [_B[11]] + _B[12:]),
        r"line 13 repeats the open_time of line 12 \(2024-11-20 00:55:00\+00:00\)",
    ),
    (
        "unsorted",
        csv_bytes(_B[:4] + [_B[5], _B[4]] + _B[6:]),
        r"not sorted: open_time at line 6 \(2024-11-20 00:20:00\+00:00\) is earlier than at line 5",
    ),
    ("high below low", csv_bytes(_replace_field(_B, 6, 2, "1000")), r"high is below low at line 7"),
    ("negative volume", csv_bytes(_replace_field(_B, 8, 5, "-3")), r"'volume' is negative at line 9"),
    (
        "zero price",
        csv_bytes(_replace_field(_replace_field(_B, 1, 3, "0"), 1, 1, "0")),
        r"'open' must be above zero; it is 0 at line 2",
    ),
    ("too few rows", csv_bytes(_B[:4]), r"has 4 candle\(s\); at least 10 are needed"),
    (
        "bad date",
        csv_bytes(
            ["not-a-date" + line[line.index(",") :] for line in engine_lines()[:1]] + engine_lines()[1:],
            ENGINE_HEADER,
        ),
        r"'open_time' at line 2 is 'not-a-date', which is not a time",
    ),
    (
        "implausible epoch",
        csv_bytes(_replace_field(_B, 0, 0, "99999999999999")[:1] + _B[1:]),
        r"'open_time' at line 1 is 99999999999999, which is not a plausible time",
    ),
    (
        "taker buy above volume",
        csv_bytes(_replace_field(_B, 4, 9, "1e9")),
        r"'taker_buy_volume' is larger than 'volume' at line 5",
    ),
]


@pytest.mark.parametrize(
    ("data", "match"), [(d, m) for _, d, m in BAD_CANDLE_FILES], ids=[n for n, _, _ in BAD_CANDLE_FILES]
)
def test_bad_candle_file(data: bytes, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        read_candles_csv(data)


def test_too_large() -> None:
    with pytest.raises(DataValidationError, match=r"too large \(0\.0 MB; the limit is 0 MB\)"):
        read_candles_csv(csv_bytes(binance_lines()), max_bytes=100)


def test_too_large_file_object_is_not_read_whole() -> None:
    class Endless(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, b: bytearray) -> int:  # type: ignore[override]
            b[:] = b"1" * len(b)
            return len(b)

    with pytest.raises(DataValidationError, match="too large"):
        read_candles_csv(io.BufferedReader(Endless()), max_bytes=1000)


def test_missing_path() -> None:
    with pytest.raises(DataValidationError, match="cannot be opened"):
        read_candles_csv(Path("/nonexistent/k.csv"))


BAD_OI_FILES: list[tuple[str, bytes, str]] = [
    (
        "no usd column",
        b"time,open_interest\n1,2\n3,4\n",
        r"needs a time column .* found: time, open_interest",
    ),
    ("one row", b"time,open_interest_usd\n1733011200000,1e9\n", r"has 1 row\(s\); at least 2"),
    ("negative", b"time,open_interest_usd\n1733011200000,1e9\n1733011500000,-5\n", r"negative at line 3"),
    ("text", b"time,open_interest_usd\n1733011200000,1e9\n1733011500000,lots\n", r"at line 3 is 'lots'"),
    (
        "unsorted",
        b"time,open_interest_usd\n1733011500000,1e9\n1733011200000,1e9\n",
        r"not sorted: time at line 3",
    ),
]


@pytest.mark.parametrize(
    ("data", "match"), [(d, m) for _, d, m in BAD_OI_FILES], ids=[n for n, _, _ in BAD_OI_FILES]
)
def test_bad_open_interest_file(data: bytes, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        read_open_interest_csv(data)


def test_open_interest_must_overlap_the_candles() -> None:
    oi = b"time,open_interest_usd\n2020-01-01 00:00,1e9\n2020-01-01 00:05,1e9\n"
    with pytest.raises(DataValidationError, match="does not overlap the candles"):
        liq.load_upload(csv_bytes(binance_lines()), oi)
