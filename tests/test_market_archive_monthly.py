"""Long archive ranges: whole months come from Binance's monthly kline zips, the rest from daily zips."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
import responses

from liq._errors import NoDataError, SourceError
from liq._sources.archive import (
    LONG_RANGE_OI_DAYS,
    MAX_ARCHIVE_CSV_BYTES,
    kline_url,
    load_archive,
    metrics_url,
    monthly_kline_url,
)
from tests.support.days import load_days
from tests.test_market_archive import KLINE_HEADER, metrics_zip
from tests.test_market_live import kline_row, real_5m, resample_5m

UTC = timezone.utc
HOUR_MS = 3_600_000
NOW = datetime(2025, 1, 10, 9, tzinfo=UTC)
START = datetime(2024, 11, 25, tzinfo=UTC)
END = datetime(2025, 1, 4, tzinfo=UTC)


def hourly(symbol: str = "BTCUSDT") -> pd.DataFrame:
    return resample_5m(real_5m(symbol), "1h")


def _zip(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text)
    return buf.getvalue()


def _kline_csv(rows: pd.DataFrame) -> str:
    lines = [KLINE_HEADER, *(",".join(str(v) for v in kline_row(r, HOUR_MS)) for r in rows.itertuples())]
    return "\n".join(lines) + "\n"


def month_zip(symbol: str, year: int, month: int, *, member: str | None = None) -> bytes:
    """A monthly 1h kline zip like data.binance.vision's (``SYMBOL-1h-YYYY-MM.csv``) from real rows."""
    frame = hourly(symbol)
    t = pd.to_datetime(frame["open_time_ms"], unit="ms", utc=True)
    rows = frame[(t.dt.year == year) & (t.dt.month == month)]
    return _zip(member or f"{symbol}-1h-{year:04d}-{month:02d}.csv", _kline_csv(rows))


def day_zip(symbol: str, day: date) -> bytes:
    frame = hourly(symbol)
    start = int(pd.Timestamp(day, tz="UTC").value // 1_000_000)
    ms = frame["open_time_ms"]
    return _zip(
        f"{symbol}-1h-{day.isoformat()}.csv", _kline_csv(frame[(ms >= start) & (ms < start + 86_400_000)])
    )


def days(first: date, last: date) -> list[date]:
    return [d.date() for d in pd.date_range(first, last)]


def serve(rsps: responses.RequestsMock, *, monthly: bool = True, symbol: str = "BTCUSDT") -> None:
    """Dec 2024 as a monthly file (or 404), Nov 25-30 and Jan 1-3 as daily files; metrics for every day."""
    url = monthly_kline_url(symbol, "1h", date(2024, 12, 1))
    if monthly:
        rsps.add(responses.GET, url, body=month_zip(symbol, 2024, 12), content_type="application/zip")
    else:
        rsps.add(responses.GET, url, status=404, body="<Error>NoSuchKey</Error>")
    daily = days(date(2024, 11, 25), date(2025, 1, 3))
    for d in daily:
        if d.month != 12 or not monthly:
            rsps.add(responses.GET, kline_url(symbol, "1h", d), body=day_zip(symbol, d))
        rsps.add(responses.GET, metrics_url(symbol, d), body=metrics_zip(symbol, d))


def fetched(rsps: responses.RequestsMock, part: str) -> list[str]:
    return [c.request.url for c in rsps.calls if part in c.request.url]


def test_a_whole_month_is_one_download(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve(rsps)
    messages: list[str] = []
    data = load_archive("BTCUSDT", "1h", START, END, now=NOW, cache_dir=tmp_path, progress=messages.append)
    assert fetched(rsps, "/monthly/klines/") == [monthly_kline_url("BTCUSDT", "1h", date(2024, 12, 1))]
    assert len(fetched(rsps, "/daily/klines/")) == 6 + 3  # Nov 25-30 and Jan 1-3
    assert len(data.candles) == (END - START) / timedelta(hours=1)
    assert (data.candles["open_time"].diff().dropna() == pd.Timedelta(hours=1)).all()
    real = hourly().set_index("open_time_ms")
    dec15 = int(pd.Timestamp("2024-12-15 12:00", tz="UTC").value // 1_000_000)
    row = data.candles[data.candles["open_time"] == pd.Timestamp(dec15, unit="ms", tz="UTC")]
    assert row["close"].iloc[0] == pytest.approx(real.loc[dec15, "close"], abs=0.05)
    assert "Read from 1 monthly and 9 daily file(s)." in data.note
    assert any(m.startswith("Downloading archive file 7/10 (2024-12)") for m in messages)


def test_open_interest_of_a_long_range_covers_its_last_30_days(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    serve(rsps)
    data = load_archive("BTCUSDT", "1h", START, END, now=NOW, cache_dir=tmp_path)
    assert len(fetched(rsps, "/daily/metrics/")) == LONG_RANGE_OI_DAYS
    assert data.open_interest is not None
    assert data.open_interest["time"].iloc[0] == pd.Timestamp(END - timedelta(days=LONG_RANGE_OI_DAYS))
    assert f"covers the last {LONG_RANGE_OI_DAYS} days" in data.note


def test_a_month_not_published_yet_is_read_day_by_day(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    serve(rsps, monthly=False)
    data = load_archive("BTCUSDT", "1h", START, END, now=NOW, cache_dir=tmp_path)
    assert len(fetched(rsps, "/daily/klines/")) == 6 + 31 + 3
    assert len(data.candles) == (END - START) / timedelta(hours=1)
    assert "Missing day" not in data.note


def test_a_partial_month_never_asks_for_the_monthly_file(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    for d in days(date(2024, 12, 2), date(2024, 12, 5)):
        rsps.add(responses.GET, kline_url("BTCUSDT", "1h", d), body=day_zip("BTCUSDT", d))
        rsps.add(responses.GET, metrics_url("BTCUSDT", d), body=metrics_zip("BTCUSDT", d))
    load_days(
        load_archive, "BTCUSDT", "1h", date(2024, 12, 2), date(2024, 12, 6), now=NOW, cache_dir=tmp_path
    )
    assert fetched(rsps, "/monthly/") == []


def test_a_monthly_file_for_another_month_is_refused(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    url = monthly_kline_url("BTCUSDT", "1h", date(2024, 12, 1))
    rsps.add(responses.GET, url, body=month_zip("BTCUSDT", 2024, 12, member="BTCUSDT-1h-2024-11.csv"))
    with pytest.raises(SourceError, match=r"BTCUSDT-1h-2024-12.zip holds 'BTCUSDT-1h-2024-11.csv'"):
        load_days(
            load_archive, "BTCUSDT", "1h", date(2024, 12, 1), date(2025, 1, 1), now=NOW, cache_dir=tmp_path
        )


def test_a_monthly_file_keeps_the_size_cap(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("BTCUSDT-1h-2024-12.csv", "0" * (MAX_ARCHIVE_CSV_BYTES + 1000))
    rsps.add(responses.GET, monthly_kline_url("BTCUSDT", "1h", date(2024, 12, 1)), body=buf.getvalue())
    with pytest.raises(SourceError, match=r"unpacks to more than 16 MB"):
        load_days(
            load_archive, "BTCUSDT", "1h", date(2024, 12, 1), date(2025, 1, 1), now=NOW, cache_dir=tmp_path
        )


def test_a_year_of_4h_is_about_a_dozen_downloads(rsps: responses.RequestsMock, tmp_path: Path) -> None:
    rsps.add_callback(
        responses.GET,
        url=re.compile(r"https://data\.binance\.vision/data/futures/um/.*"),
        callback=lambda request: (404, {}, "<Error>NoSuchKey</Error>"),
    )
    with pytest.raises(NoDataError):  # nothing is published in this fake: only the plan is checked
        load_days(
            load_archive, "ETHUSDT", "4h", date(2024, 1, 1), date(2025, 1, 1), now=NOW, cache_dir=tmp_path
        )
    urls = [c.request.url for c in rsps.calls]
    assert all("/monthly/klines/" in u for u in urls[:1]) and urls[0].endswith("ETHUSDT-4h-2024-01.zip")
    assert len(fetched(rsps, "/monthly/klines/")) == 12  # then each missing month is tried day by day
