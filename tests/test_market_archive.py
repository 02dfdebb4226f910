"""Binance public-archive source: daily zips built here from real sample rows, served through mocked HTTP."""

from __future__ import annotations

import io
import struct
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
import responses

from liq._errors import NetworkError, NoDataError, SourceError
from liq._sources._common import MarketData
from liq._sources.archive import (
    MAX_ARCHIVE_CSV_BYTES,
    MAX_ARCHIVE_ZIP_BYTES,
    ArchiveCache,
    default_cache_dir,
    kline_url,
    load_archive,
    metrics_url,
)
from tests.test_market_live import kline_row, real_5m, refused

UTC = timezone.utc
KLINE_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,taker_buy_volume,"
    "taker_buy_quote_volume,ignore"
)
METRICS_HEADER = (
    "create_time,symbol,sum_open_interest,sum_open_interest_value,count_toptrader_long_short_ratio,"
    "sum_toptrader_long_short_ratio,count_long_short_ratio,sum_taker_long_short_vol_ratio"
)


def dt(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def _zip(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text)
    return buf.getvalue()


def _day_rows(symbol: str, day: date) -> pd.DataFrame:
    frame = real_5m(symbol)
    start = int(pd.Timestamp(day, tz="UTC").value // 1_000_000)
    ms = frame["open_time_ms"]
    return frame[(ms >= start) & (ms < start + 86_400_000)]


def kline_zip(symbol: str, day: date, *, header: bool = True) -> bytes:
    """A daily kline zip like data.binance.vision's, from the real sample's rows for that day."""
    lines = [",".join(str(v) for v in kline_row(r)) for r in _day_rows(symbol, day).itertuples()]
    if header:
        lines.insert(0, KLINE_HEADER)
    return _zip(f"{symbol}-5m-{day.isoformat()}.csv", "\n".join(lines) + "\n")


def metrics_zip(symbol: str, day: date) -> bytes:
    """A daily metrics zip (5-minute open interest) consistent with the real closes."""
    lines = [METRICS_HEADER]
    for r in _day_rows(symbol, day).itertuples():
        t = pd.Timestamp(int(r.open_time_ms), unit="ms").strftime("%Y-%m-%d %H:%M:%S")
        lines.append(f"{t},{symbol},80000.0,{80000.0 * r.close:.4f},1.5,1.6,1.7,0.9")
    return _zip(f"{symbol}-metrics-{day.isoformat()}.csv", "\n".join(lines) + "\n")


def serve_archive(
    rsps: responses.RequestsMock,
    symbol: str,
    days: list[date],
    *,
    missing: tuple[date, ...] = (),
    corrupt: tuple[date, ...] = (),
    headerless: tuple[date, ...] = (),
) -> None:
    for day in days:
        if day in missing:
            rsps.add(responses.GET, kline_url(symbol, "5m", day), status=404, body="<Error>NoSuchKey</Error>")
            continue
        body = (
            b"PK\x03\x04 this is not really a zip"
            if day in corrupt
            else kline_zip(symbol, day, header=day not in headerless)
        )
        rsps.add(responses.GET, kline_url(symbol, "5m", day), body=body, content_type="application/zip")
        rsps.add(
            responses.GET,
            metrics_url(symbol, day),
            body=metrics_zip(symbol, day),
            content_type="application/zip",
        )


DAYS = [date(2024, 12, 2), date(2024, 12, 3), date(2024, 12, 4)]
NOW = dt(2024, 12, 20, 9)


def _btc_5m(cache_dir: Path, start: datetime, end: datetime, **kwargs: Any) -> MarketData:
    """``load_archive`` of BTCUSDT 5m candles at :data:`NOW`, cached in ``cache_dir``."""
    return load_archive("BTCUSDT", "5m", start, end, now=NOW, cache_dir=cache_dir, **kwargs)


def test_loads_days_with_open_interest(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS, headerless=(DAYS[1],))
    messages: list[str] = []
    data = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 5), progress=messages.append)
    assert data.source == "archive" and len(data.candles) == 3 * 288
    assert data.candles["open_time"].dtype == "datetime64[ns, UTC]"
    assert (data.candles["open_time"].diff().dropna() == pd.Timedelta(minutes=5)).all()
    real = real_5m().set_index("open_time_ms")
    assert data.candles["close"].iloc[0] == pytest.approx(real.loc[1733097600000, "close"])
    assert {"quote_volume", "taker_buy_volume"} <= set(data.candles.columns)
    assert data.open_interest is not None and len(data.open_interest) == 3 * 288
    assert data.open_interest["open_interest_usd"].iloc[0] == pytest.approx(
        80000.0 * data.candles["close"].iloc[0]
    )
    assert "Downloading archive day 2/3 (2024-12-03)…" in messages
    assert "sum_open_interest_value" in data.note


def test_range_is_cut_to_the_requested_times(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS[:2])
    data = _btc_5m(tmp_path, dt(2024, 12, 2, 6), dt(2024, 12, 3, 6))
    assert data.candles["open_time"].iloc[0] == pd.Timestamp("2024-12-02 06:00", tz="UTC")
    assert data.candles["open_time"].iloc[-1] == pd.Timestamp("2024-12-03 05:55", tz="UTC")


def test_missing_day_is_skipped_and_reported(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS, missing=(DAYS[1],))
    data = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 5))
    assert len(data.candles) == 2 * 288
    assert "Missing day(s) skipped: 2024-12-03." in data.note


def test_no_day_at_all_is_no_data(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "NOPEUSDT", DAYS, missing=tuple(DAYS))
    with pytest.raises(NoDataError, match="no 5m klines for NOPEUSDT.*Check the symbol"):
        load_archive("NOPEUSDT", "5m", dt(2024, 12, 2), dt(2024, 12, 5), now=NOW, cache_dir=tmp_path)


def test_corrupt_zip_is_a_clear_error_and_leaves_the_cache(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS, corrupt=(DAYS[0],))
    with pytest.raises(SourceError, match=r"BTCUSDT-5m-2024-12-02.zip is damaged"):
        _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 5))
    assert not (tmp_path / "archive" / "BTCUSDT-5m-2024-12-02.zip").exists()


def test_only_up_to_yesterday(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS)
    data = load_archive(
        "BTCUSDT", "5m", dt(2024, 12, 2), dt(2024, 12, 4, 12), now=dt(2024, 12, 4, 10), cache_dir=tmp_path
    )
    assert data.candles["open_time"].iloc[-1] == pd.Timestamp("2024-12-03 23:55", tz="UTC")
    assert not any("2024-12-04" in c.request.url for c in rsps.calls)
    assert "no data for today yet" in data.note


def test_range_entirely_today_is_no_data(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    with pytest.raises(NoDataError, match="up to yesterday"):
        load_archive(
            "BTCUSDT",
            "5m",
            dt(2024, 12, 4, 1),
            dt(2024, 12, 4, 8),
            now=dt(2024, 12, 4, 10),
            cache_dir=tmp_path,
        )
    assert len(rsps.calls) == 0


def test_second_load_comes_from_the_disk_cache(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS[:2])
    first = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 4))
    n = len(rsps.calls)
    second = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 4))
    assert len(rsps.calls) == n
    pd.testing.assert_frame_equal(first.candles, second.candles)


def test_ranges_sharing_days_parse_each_day_once(
    rsps: responses.RequestsMock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from liq._sources import archive

    read: list[str] = []
    real_read = archive._read_zip_csv
    monkeypatch.setattr(
        archive, "_read_zip_csv", lambda payload, name: read.append(name) or real_read(payload, name)
    )
    monkeypatch.setattr(archive, "_PARSED", archive._ParsedFiles(archive.PARSED_KEEP_BYTES))
    serve_archive(rsps, "BTCUSDT", DAYS)
    two = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 4))
    assert len(read) == 4  # two days: candles and metrics
    three = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 5))
    assert len(read) == 6 and all("2024-12-04" in name for name in read[4:])
    pd.testing.assert_frame_equal(three.candles.iloc[: len(two.candles)], two.candles)


def test_a_file_is_read_again_when_its_bytes_change(tmp_path: Path) -> None:
    """Parsed files are kept by name and content: new bytes under an old name are read (and checked) anew."""
    from liq._sources import archive

    kept = archive._ParsedFiles(max_bytes=10**6)
    frame = pd.DataFrame({"a": [1.0]})
    kept.put(("x.zip", "p", b"1"), frame)
    assert kept.get(("x.zip", "p", b"1")) is frame
    assert kept.get(("x.zip", "p", b"2")) is None
    tiny = archive._ParsedFiles(max_bytes=archive.frame_nbytes(frame) + 1)
    tiny.put(("a", "p", b""), frame)
    tiny.put(("b", "p", b""), frame.copy())
    assert tiny.get(("a", "p", b"")) is None and tiny.get(("b", "p", b"")) is not None  # oldest dropped


def test_cache_is_bounded(tmp_path: Path) -> None:
    cache = ArchiveCache(tmp_path, max_bytes=250)
    for i in range(5):
        cache.put(f"f{i}.zip", bytes(100))
    kept = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert sum((tmp_path / "archive" / k).stat().st_size for k in kept) <= 250
    assert "f4.zip" in kept and "f0.zip" not in kept


def test_cache_folder_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LIQ_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_dir() == tmp_path / "c"
    monkeypatch.delenv("LIQ_CACHE_DIR")
    assert default_cache_dir().parts[-2:] == (".cache", "liq-heatmap")


def test_network_down_is_a_network_error(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(responses.GET, kline_url("BTCUSDT", "5m", DAYS[0]), body=refused())
    with pytest.raises(
        NetworkError, match=r"Could not connect to the Binance archive \(data.binance.vision\) \(no network"
    ):
        _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))


def test_a_timeout_does_not_claim_there_is_no_internet(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(responses.GET, kline_url("BTCUSDT", "5m", DAYS[0]), body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(NetworkError, match="did not send a complete answer within 10 s") as info:
        _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))
    assert "internet" not in str(info.value) and "no network" not in str(info.value)


def test_connect_timeout_names_the_connection(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(
        responses.GET, kline_url("BTCUSDT", "5m", DAYS[0]), body=requests.exceptions.ConnectTimeout("slow")
    )
    with pytest.raises(NetworkError, match="did not accept a connection within 5 s"):
        _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))


def test_server_error_is_a_source_error(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(responses.GET, kline_url("BTCUSDT", "5m", DAYS[0]), status=503)
    with pytest.raises(SourceError, match="HTTP 503"):
        _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))


def test_missing_metrics_leave_candles_without_open_interest(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    day = DAYS[0]
    rsps.add(responses.GET, kline_url("BTCUSDT", "5m", day), body=kline_zip("BTCUSDT", day))
    rsps.add(responses.GET, metrics_url("BTCUSDT", day), status=404)
    data = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))
    assert data.open_interest is None and len(data.candles) == 288
    assert "No open interest in the archive" in data.note


def test_today_minus_one_is_the_last_day(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    now = dt(2024, 12, 5, 0, 30)
    serve_archive(rsps, "BTCUSDT", DAYS)
    data = load_archive("BTCUSDT", "5m", now - timedelta(days=3), now, now=now, cache_dir=tmp_path)
    assert data.candles["open_time"].iloc[-1].date() == date(2024, 12, 4)


def test_blank_open_interest_cells_are_skipped(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    day = DAYS[0]
    with zipfile.ZipFile(io.BytesIO(metrics_zip("BTCUSDT", day))) as zf:
        text = zf.read(zf.namelist()[0]).decode()
    lines = text.splitlines()
    fields = lines[5].split(",")
    fields[3] = ""
    lines[5] = ",".join(fields)
    rsps.add(responses.GET, kline_url("BTCUSDT", "5m", day), body=kline_zip("BTCUSDT", day))
    rsps.add(
        responses.GET,
        metrics_url("BTCUSDT", day),
        body=_zip(f"BTCUSDT-metrics-{day.isoformat()}.csv", "\n".join(lines) + "\n"),
    )
    data = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))
    assert data.open_interest is not None and len(data.open_interest) == 287


# -- hostile or broken zips: refused with a clear message, never cached, and auto carries on -----------------


def _load_one_day(tmp_path: Path) -> object:
    return _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))


def _cached(tmp_path: Path) -> list[str]:
    return (
        sorted(p.name for p in (tmp_path / "archive").glob("*.zip"))
        if (tmp_path / "archive").exists()
        else []
    )


def _serve_kline_zip(rsps: responses.RequestsMock, body: bytes) -> None:
    rsps.add(responses.GET, kline_url("BTCUSDT", "5m", DAYS[0]), body=body, content_type="application/zip")
    rsps.add(responses.GET, metrics_url("BTCUSDT", DAYS[0]), body=metrics_zip("BTCUSDT", DAYS[0]))


def _bomb(size: int) -> bytes:
    """A small zip whose one CSV, named as the archive names it, unpacks to ``size`` bytes."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        with zf.open("BTCUSDT-5m-2024-12-02.csv", "w") as fh:
            line = b"1733097600000,1,1,1,1,1,1733097899999,1,1,1,1,0\n"
            for _ in range(size // len(line) + 1):
                fh.write(line)
    return buf.getvalue()


def test_a_zip_bomb_is_refused_by_its_declared_size(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    bomb = _bomb(MAX_ARCHIVE_CSV_BYTES + 1_000_000)
    assert len(bomb) < MAX_ARCHIVE_CSV_BYTES / 20  # small on the wire, large unpacked
    _serve_kline_zip(rsps, bomb)
    with pytest.raises(SourceError, match=r"BTCUSDT-5m-2024-12-02.zip unpacks to more than 16 MB"):
        _load_one_day(tmp_path)
    assert _cached(tmp_path) == []


def _lie_about_size(payload: bytes, declared: int) -> bytes:
    """Rewrite the uncompressed size in the local header and the central directory of a one-member zip."""
    data = bytearray(payload)
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def test_a_zip_that_understates_its_size_is_refused_while_reading(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    bomb = _lie_about_size(_bomb(MAX_ARCHIVE_CSV_BYTES + 1_000_000), declared=1000)
    with zipfile.ZipFile(io.BytesIO(bomb)) as zf:
        assert zf.infolist()[0].file_size == 1000  # the lie is what a reader sees
    _serve_kline_zip(rsps, bomb)
    with pytest.raises(SourceError, match=r"BTCUSDT-5m-2024-12-02.zip is damaged"):
        _load_one_day(tmp_path)
    assert _cached(tmp_path) == []


def test_a_download_larger_than_a_day_can_be_is_refused(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    _serve_kline_zip(rsps, b"PK\x03\x04" + bytes(MAX_ARCHIVE_ZIP_BYTES + 10))
    with pytest.raises(SourceError, match=r"BTCUSDT-5m-2024-12-02.zip is larger than 8 MB"):
        _load_one_day(tmp_path)
    assert _cached(tmp_path) == []


def test_another_symbols_file_is_refused(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    eth = kline_zip("ETHUSDT", DAYS[0])  # holds ETHUSDT-5m-2024-12-02.csv
    _serve_kline_zip(rsps, eth)
    with pytest.raises(
        SourceError, match=r"holds 'ETHUSDT-5m-2024-12-02.csv' instead of BTCUSDT-5m-2024-12-02.csv"
    ):
        _load_one_day(tmp_path)
    assert _cached(tmp_path) == []


def test_another_interval_or_day_is_refused_too(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    _serve_kline_zip(rsps, _zip("BTCUSDT-1m-2024-12-02.csv", "1733097600000,1,1,1,1,1,0,1,1,1,1,0\n"))
    with pytest.raises(SourceError, match="not the data asked for"):
        _load_one_day(tmp_path)


def test_an_empty_csv_inside_a_zip_is_a_clear_message(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    _serve_kline_zip(rsps, _zip("BTCUSDT-5m-2024-12-02.csv", ""))
    with pytest.raises(
        SourceError, match=r"BTCUSDT-5m-2024-12-02.zip holds an empty BTCUSDT-5m-2024-12-02.csv"
    ):
        _load_one_day(tmp_path)
    assert _cached(tmp_path) == []


def test_a_bad_metrics_file_leaves_the_candles(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add(responses.GET, kline_url("BTCUSDT", "5m", DAYS[0]), body=kline_zip("BTCUSDT", DAYS[0]))
    rsps.add(
        responses.GET, metrics_url("BTCUSDT", DAYS[0]), body=_zip("BTCUSDT-metrics-2024-12-02.csv", "\n")
    )
    data = _btc_5m(tmp_path, dt(2024, 12, 2), dt(2024, 12, 3))
    assert len(data.candles) == 288 and data.open_interest is None
    assert (
        "Open interest was not loaded: The archive file BTCUSDT-metrics-2024-12-02.zip holds an empty"
        in data.note
    )
    assert _cached(tmp_path) == ["BTCUSDT-5m-2024-12-02.zip"]  # the good file is kept, the bad one is not


def test_a_good_file_is_cached_after_it_was_read(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve_archive(rsps, "BTCUSDT", DAYS[:1])
    _load_one_day(tmp_path)
    assert _cached(tmp_path) == ["BTCUSDT-5m-2024-12-02.zip", "BTCUSDT-metrics-2024-12-02.zip"]


# --- what a day's file may hold, read by the C parser with numbers as numbers -------------------------------------
_ROW = "1733011200000,100,101,99,100.5,3,1733011499999,300,1,1.5,150,0"
_METRICS_ROW = "2024-12-01 00:05:00,BTCUSDT,1,{usd},1.5,1.6,1.7,0.9"


def _parse(kind: str, text: str) -> pd.DataFrame:
    from liq._sources import archive

    parse = archive._parse_metrics if kind == "metrics" else archive._parse_klines
    return parse(archive._read_zip_csv(_zip("X.csv", text), "X.zip"), "X.zip")


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        ("klines", f"{_ROW}\n{_ROW.replace('101', 'abc')}\n", "holds values that are not numbers"),
        ("klines", "1733011200000,1,2,3,4\n", "has 5 columns instead of 12"),
        ("klines", f"{_ROW}\n{_ROW},5,6,7\n", "is not a readable CSV"),
        (
            "metrics",
            "create_time,symbol\n2024-12-01 00:05:00,BTCUSDT\n",
            "lacks create_time / sum_open_interest_value",
        ),
        (
            "metrics",
            f"{METRICS_HEADER}\n{_METRICS_ROW.format(usd=1).replace('2024-12-01 00:05:00', 'noon')}\n",
            "cannot be read",
        ),
    ],
)
def test_a_damaged_day_file_is_refused_with_its_reason(kind: str, text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message):
        _parse(kind, text)


def test_day_files_read_with_or_without_header_and_with_blanks() -> None:
    with_header, without = _parse("klines", f"{KLINE_HEADER}\n{_ROW}\n"), _parse("klines", f"{_ROW}\n")
    pd.testing.assert_frame_equal(with_header, without)
    assert (
        without["open_time"].iloc[0] == pd.Timestamp("2024-12-01", tz="UTC")
        and without["high"].iloc[0] == 101.0
    )
    micro = _parse("klines", _ROW.replace("1733011200000", "1733011200000000", 1) + "\n")
    assert micro["open_time"].iloc[0] == pd.Timestamp(
        "2024-12-01", tz="UTC"
    )  # newer files count microseconds
    assert len(_parse("klines", f"{KLINE_HEADER}\n")) == 0  # a day without candles
    blank = _parse("klines", _ROW.replace(",101,", ",,") + "\n")
    assert blank["high"].isna().all()  # a blank cell is unknown, for the candle checks to name
    usd = _parse(
        "metrics", "\n".join([METRICS_HEADER, _METRICS_ROW.format(usd=""), _METRICS_ROW.format(usd="abc")])
    )
    assert usd["open_interest_usd"].isna().all() and len(usd) == 2  # blanks and text are gaps in the OI
    from liq._sources import archive

    assert archive.frame_nbytes(without) == 8 * without.shape[1]  # 8-byte times and floats, one row
