"""CSV upload: accepted layouts, and a precise message for each kind of bad file."""

from __future__ import annotations

import gzip
import io
import pickle
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import liq
from liq._errors import DataValidationError
from liq._sources._files import MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS
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


def _zip_bytes(files: int = 1) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(files):
            zf.writestr(f"k{i}.csv" if files > 1 else "BTCUSDT-5m-2024-11-20.csv", "\n".join(binance_lines()))
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
    (
        "zip of two files",
        _zip_bytes(2),
        r"zip archive that must hold exactly one CSV file; it holds k0.csv, k1.csv",
    ),
    ("zip that is not one", b"PK\x03\x04 not a zip", r"looks like a zip archive but cannot be unpacked"),
    ("broken gzip", b"\x1f\x8b\x08\x00broken", r"looks gzip-compressed but cannot be unpacked"),
    (
        "unclosed quote",
        csv_bytes(_B[:10] + ['"' + "x" * 140_000] + _B[10:]),
        r"cannot be read as CSV near line 11 .* save it again as CSV\.$",
    ),
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
        r"duplicate open_time: line 13 repeats the time of line 12 \(2024-11-20 00:55:00\+00:00\)\. Remove",
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
        r"'open_time' at line 1 is '99999999999999', which is outside 2017-01-01 to 2100-01-01",
    ),
    (
        "taker buy above volume",
        csv_bytes(_replace_field(_B, 4, 9, "1e9")),
        r"'taker_buy_volume' is larger than 'volume' at line 5",
    ),
]


def test_too_large() -> None:
    with pytest.raises(
        DataValidationError,
        match=r"too large \(more than 0\.0001 MB\)\. A file may hold at most 50,000 rows and 0\.0001 MB",
    ):
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


BAD_FILES = [(read_candles_csv, *case) for case in BAD_CANDLE_FILES] + [
    (read_open_interest_csv, *case) for case in BAD_OI_FILES
]


@pytest.mark.parametrize(
    ("read", "data", "match"),
    [(r, d, m) for r, _, d, m in BAD_FILES],
    ids=[f"{r.__name__}: {n}" for r, n, _, _ in BAD_FILES],
)
def test_bad_file(read: Callable[[bytes], object], data: bytes, match: str) -> None:
    with pytest.raises(DataValidationError, match=match):
        read(data)


def test_open_interest_must_overlap_the_candles() -> None:
    oi = b"time,open_interest_usd\n2020-01-01 00:00,1e9\n2020-01-01 00:05,1e9\n"
    with pytest.raises(DataValidationError, match="does not overlap the candles"):
        liq.load_upload(csv_bytes(binance_lines()), oi)


# ---------------------------------------------------------------- limits, compression, line endings, dates, prices


def _synthetic(n: int, step_ms: int = 60_000, t0: int = 1_733_011_200_000) -> bytes:
    """``n`` well-formed 1m candles in the engine layout (cheap to build in bulk)."""
    body = "".join(f"{t0 + i * step_ms},100,101,99,100.5,3\n" for i in range(n))
    return (ENGINE_HEADER + "\n" + body).encode()


def test_zip_and_gzip_uploads_read_like_the_csv_inside() -> None:
    plain = read_candles_csv(csv_bytes(binance_lines()))
    pd.testing.assert_frame_equal(read_candles_csv(_zip_bytes()), plain)
    pd.testing.assert_frame_equal(read_candles_csv(gzip.compress(csv_bytes(binance_lines()))), plain)


def test_a_candle_upload_at_the_row_limit_is_accepted() -> None:
    frame = read_candles_csv(_synthetic(MAX_UPLOAD_ROWS))
    assert len(frame) == MAX_UPLOAD_ROWS == 50_000


def test_one_candle_more_than_the_limit_is_refused_with_rows_and_mb() -> None:
    with pytest.raises(DataValidationError) as info:
        read_candles_csv(_synthetic(MAX_UPLOAD_ROWS + 1))
    assert str(info.value) == (
        "The candles file has more than 50,000 rows. A file may hold at most 50,000 rows and 20.0 MB (after "
        "unpacking); upload a shorter time range."
    )


def test_a_million_row_upload_is_refused_without_parsing_it() -> None:
    """1 M candles (about 60 MB) cannot be served to many users at once: refused on size, even gzipped."""
    line = b"1733011200000,100,101,99,100.5,3\n"
    big = ENGINE_HEADER.encode() + b"\n" + line * 1_000_000
    assert len(big) > MAX_UPLOAD_BYTES
    for data in (big, gzip.compress(big, compresslevel=1)):
        started = time.monotonic()
        with pytest.raises(DataValidationError, match=r"too large .*at most 50,000 rows and 20\.0 MB"):
            liq.load_upload(data)
        assert time.monotonic() - started < 5
    assert (
        len(gzip.compress(big, compresslevel=1)) < MAX_UPLOAD_BYTES
    )  # the gzip itself passed the first check


def test_a_zip_bomb_upload_stops_at_the_limit() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("k.csv", b"1" * (MAX_UPLOAD_BYTES + 1))
    assert len(buf.getvalue()) < 100_000
    with pytest.raises(DataValidationError, match=r"too large \(more than 20\.0 MB unpacked\)"):
        read_candles_csv(buf.getvalue())


def test_open_interest_upload_has_the_same_limits() -> None:
    rows = "".join(f"{1733011200000 + i * 300_000},8e9\n" for i in range(MAX_UPLOAD_ROWS + 1))
    with pytest.raises(DataValidationError, match="open-interest file has more than 50,000 rows"):
        read_open_interest_csv(("time,open_interest_usd\n" + rows).encode())
    with pytest.raises(DataValidationError, match="above 1e[+]13 USD"):
        read_open_interest_csv(b"time,open_interest_usd\n1733011200000,8e9\n1733011500000,1e300\n")


def test_cr_only_line_endings_are_accepted() -> None:
    lf = csv_bytes(binance_lines())
    pd.testing.assert_frame_equal(read_candles_csv(lf.replace(b"\n", b"\r")), read_candles_csv(lf))
    pd.testing.assert_frame_equal(read_candles_csv(lf.replace(b"\n", b"\r\n")), read_candles_csv(lf))


@pytest.mark.parametrize(
    "cell",
    [
        "2262-05-01 00:00",  # past pandas' nanosecond range
        "3000-01-01",
        "2100-01-02",
        "1970-01-01 00:00",
        "2016-12-31 23:59",
        "0",  # epoch, 1970
        "1483228799999",  # 2016-12-31 23:59:59.999 in epoch ms
        "4102531200000",  # 2100-01-02 in epoch ms
        "4102531200",  # 2100-01-02 in epoch seconds
    ],
)
def test_iso_and_epoch_times_share_one_range(cell: str) -> None:
    if cell.isdigit():  # an epoch column: Binance's layout with a header, so the row is at line 2 as well
        lines, header = binance_lines(), BINANCE_HEADER
    else:
        lines, header = engine_lines(), ENGINE_HEADER
    lines[0] = cell + lines[0][lines[0].index(",") :]
    with pytest.raises(
        DataValidationError, match=r"at line 2 is .*, which is outside 2017-01-01 to 2100-01-01"
    ):
        read_candles_csv(csv_bytes(lines, header))


def test_the_range_bounds_are_inclusive_for_both_spellings() -> None:
    for first in ("2017-01-01 00:00", "1483228800000"):
        t0 = 1_483_228_800_000
        rows = [first] + [
            str(t0 + i * 60_000) if first.isdigit() else f"2017-01-01 00:{i:02d}" for i in range(1, 12)
        ]
        text = ENGINE_HEADER + "\n" + "".join(f"{t},100,101,99,100.5,3\n" for t in rows)
        assert read_candles_csv(text.encode())["open_time"].iloc[0] == pd.Timestamp("2017-01-01", tz="UTC")


@pytest.mark.parametrize("value", ["1e300", "2e9"])
def test_absurd_prices_are_refused_with_a_fix(value: str) -> None:
    lines = _replace_field(_replace_field(binance_lines(), 4, 2, value), 4, 4, value)  # high and close
    with pytest.raises(
        DataValidationError,
        match=r"'high' is .* at line 5; a price must be a finite number no higher than 1,000,000,000",
    ):
        read_candles_csv(csv_bytes(lines))


def test_absurd_volume_is_refused() -> None:
    with pytest.raises(
        DataValidationError, match=r"'volume' is 1e\+300 at line 3; a volume must be a finite number"
    ):
        read_candles_csv(csv_bytes(_replace_field(binance_lines(), 2, 5, "1e300")))


def test_after_a_refused_upload_the_next_one_works() -> None:
    with pytest.raises(DataValidationError):
        liq.load_upload(_synthetic(MAX_UPLOAD_ROWS + 1))
    assert len(liq.load_upload(_synthetic(20)).candles) == 20
