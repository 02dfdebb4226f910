"""Binance public data archive (data.binance.vision): daily zip files of USDⓈ-M klines and metrics.

This source works where the live API answers HTTP 451 (it is plain file hosting). It holds complete days
only, so it covers up to yesterday (UTC); a day that is not published yet answers 404, is skipped, and is
named in the note. Open interest comes from the daily *metrics* files (``sum_open_interest_value``, 5-minute
rows), which go further back than the live API's 30 days.

Downloaded zips are kept in a bounded disk cache: ``$LIQ_CACHE_DIR`` or ``~/.cache/liq-heatmap``, at most
``DEFAULT_CACHE_BYTES`` in total, oldest files evicted first.
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import requests

from .._errors import NetworkError, NoDataError, SourceError
from ._common import (
    MarketData,
    ProgressFn,
    check_interval,
    check_range,
    check_symbol,
    kline_rows_frame,
    utc_now,
)

__all__ = [
    "ARCHIVE_BASE_URL",
    "DEFAULT_CACHE_BYTES",
    "ArchiveCache",
    "default_cache_dir",
    "kline_url",
    "load_archive",
    "metrics_url",
]

#: Root of the public archive.
ARCHIVE_BASE_URL = "https://data.binance.vision/data/futures/um/daily"
#: Default cap of the disk cache.
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
#: Per-request timeout for archive downloads (connect, read).
ARCHIVE_TIMEOUT_S = (5.0, 30.0)
#: Most days one request may span (about two years), to keep downloads bounded.
MAX_ARCHIVE_DAYS = 800


def kline_url(symbol: str, interval: str, day: date) -> str:
    """URL of one day of klines.

    Examples
    --------
    >>> from datetime import date
    >>> kline_url("BTCUSDT", "5m", date(2024, 12, 1))
    'https://data.binance.vision/data/futures/um/daily/klines/BTCUSDT/5m/BTCUSDT-5m-2024-12-01.zip'
    """
    return f"{ARCHIVE_BASE_URL}/klines/{symbol}/{interval}/{symbol}-{interval}-{day.isoformat()}.zip"


def metrics_url(symbol: str, day: date) -> str:
    """URL of one day of metrics (open interest, long/short ratios).

    Examples
    --------
    >>> from datetime import date
    >>> metrics_url("ETHUSDT", date(2024, 12, 1))
    'https://data.binance.vision/data/futures/um/daily/metrics/ETHUSDT/ETHUSDT-metrics-2024-12-01.zip'
    """
    return f"{ARCHIVE_BASE_URL}/metrics/{symbol}/{symbol}-metrics-{day.isoformat()}.zip"


def default_cache_dir() -> Path:
    """``$LIQ_CACHE_DIR`` if set, else ``~/.cache/liq-heatmap``."""
    env = os.environ.get("LIQ_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "liq-heatmap"


@dataclass(frozen=True)
class ArchiveCache:
    """A folder of downloaded archive zips with a total-size cap (oldest files are evicted first).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     cache = ArchiveCache(Path(folder), max_bytes=10)
    ...     cache.put("a.zip", b"12345678")
    ...     cache.put("b.zip", b"123456")
    ...     print(cache.get("a.zip"), cache.get("b.zip"))
    None b'123456'
    """

    folder: Path
    max_bytes: int = DEFAULT_CACHE_BYTES

    def _path(self, name: str) -> Path:
        return self.folder / "archive" / name

    def get(self, name: str) -> bytes | None:
        """Cached bytes, or None."""
        path = self._path(name)
        try:
            return path.read_bytes()
        except OSError:
            return None

    def put(self, name: str, payload: bytes) -> None:
        """Store bytes (best effort: a read-only disk only means no caching), then enforce the cap."""
        path = self._path(name)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(
                f".{path.name}.{os.getpid()}.{threading.get_ident()}.part"
            )  # unique per writer
            tmp.write_bytes(payload)
            os.replace(tmp, path)
        except OSError:
            return
        self.evict(keep=path)

    def drop(self, name: str) -> None:
        """Remove one file (e.g. a corrupt zip)."""
        try:
            self._path(name).unlink()
        except OSError:
            pass

    def evict(self, keep: Path | None = None) -> None:
        """Delete the oldest files until the folder is within ``max_bytes``."""
        root = self.folder / "archive"
        try:
            files = [(p.stat().st_mtime, p.stat().st_size, p) for p in root.iterdir() if p.is_file()]
        except OSError:
            return
        total = sum(size for _, size, _ in files)
        for _, size, path in sorted(files, key=lambda f: (f[0], f[2].name)):
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            try:
                path.unlink()
                total -= size
            except OSError:
                pass


class _Downloader:
    def __init__(self, cache: ArchiveCache, session: requests.Session | None) -> None:
        self.cache = cache
        self.session = session if session is not None else requests.Session()

    def fetch(self, url: str) -> bytes | None:
        """Zip bytes (from cache or network), or None when the archive answers 404."""
        name = url.rsplit("/", 1)[-1]
        cached = self.cache.get(name)
        if cached is not None:
            return cached
        try:
            resp = self.session.get(url, timeout=ARCHIVE_TIMEOUT_S)
        except requests.exceptions.Timeout:
            raise NetworkError(
                "The Binance archive (data.binance.vision) did not answer in time; try again later."
            ) from None
        except requests.exceptions.RequestException:
            raise NetworkError(
                "Could not reach the Binance archive (data.binance.vision): no internet connection here, or "
                "the connection was refused."
            ) from None
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            raise SourceError(
                f"The Binance archive answered HTTP {resp.status_code} for {name}; try again later."
            )
        payload = resp.content
        self.cache.put(name, payload)
        return payload


def _read_zip_csv(payload: bytes, name: str, cache: ArchiveCache) -> pd.DataFrame:
    """The single CSV inside a daily zip; a damaged zip raises SourceError (and leaves the cache)."""
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            members = [m for m in zf.namelist() if m.lower().endswith(".csv")]
            if not members:
                raise zipfile.BadZipFile("no CSV inside")
            raw = zf.read(members[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError):
        cache.drop(name)
        raise SourceError(
            f"The archive file {name} is damaged (not a readable zip). It was removed from the cache; "
            "loading again will download it afresh."
        ) from None
    return pd.read_csv(io.BytesIO(raw), header=None, dtype=str)


def _parse_klines(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Archive kline CSV (with or without the header line) to engine columns."""
    if table.empty:
        return pd.DataFrame()
    if not str(table.iat[0, 0]).strip().lstrip("-").isdigit():
        table = table.iloc[1:]  # header line
    if table.shape[1] < 11:
        raise SourceError(
            f"The archive file {name} has {table.shape[1]} columns instead of 12; it is not a kline file."
        )
    try:
        return kline_rows_frame(table.to_numpy())
    except (TypeError, ValueError):
        raise SourceError(
            f"The archive file {name} holds values that are not numbers; it may be damaged."
        ) from None


def _parse_metrics(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """Archive metrics CSV to ``time, open_interest_usd``."""
    header = [str(v).strip() for v in table.iloc[0]]
    if "create_time" not in header or "sum_open_interest_value" not in header:
        raise SourceError(f"The archive file {name} lacks create_time / sum_open_interest_value columns.")
    body = table.iloc[1:]
    body.columns = header
    try:
        times = pd.DatetimeIndex(pd.to_datetime(body["create_time"], utc=True)).as_unit("ns")
        usd = pd.to_numeric(body["sum_open_interest_value"], errors="coerce").to_numpy(
            np.float64
        )  # blanks -> NaN
    except (TypeError, ValueError):
        raise SourceError(
            f"The archive file {name} holds values that cannot be read; it may be damaged."
        ) from None
    return pd.DataFrame({"time": times, "open_interest_usd": usd})


def load_archive(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    *,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    cache_dir: str | Path | None = None,
    max_cache_bytes: int = DEFAULT_CACHE_BYTES,
    session: requests.Session | None = None,
) -> MarketData:
    """Candles and open interest for ``[start, end)`` from the Binance public archive (complete days only).

    Parameters
    ----------
    symbol, interval, start, end
        As in :func:`liq.load_market_data`. The range is cut at the end of yesterday (UTC).
    progress : callable(str), optional
        Status messages such as ``"Downloading archive day 2/7…"``.
    now : datetime, optional
        Current time (tz-aware), which decides what "yesterday" is. Defaults to the clock.
    cache_dir : str or Path, optional
        Cache folder (default :func:`default_cache_dir`).
    max_cache_bytes : int
        Cap of the cache folder.
    session : requests.Session, optional
        HTTP session to use.

    Raises
    ------
    NoDataError
        No day in the range is in the archive (unknown symbol, or the range is today/in the future).
    NetworkError, SourceError
        The archive could not be reached, answered an error, or a file is damaged.
    """
    sym = check_symbol(symbol)
    iv = check_interval(interval)
    t0, t1 = check_range(start, end)
    now_ts = pd.Timestamp(now if now is not None else utc_now()).tz_convert("UTC")
    today = now_ts.normalize()
    last_end = min(t1, today)
    if last_end <= t0:
        raise NoDataError(
            f"The Binance archive publishes whole days only, up to yesterday ({(today - pd.Timedelta(days=1)).date()}); "
            "the requested range has nothing before that."
        )
    days = [
        d.date() for d in pd.date_range(t0.normalize(), (last_end - pd.Timedelta(milliseconds=1)).normalize())
    ]
    if len(days) > MAX_ARCHIVE_DAYS:
        raise SourceError(
            f"{len(days)} days is too long a range for the archive; ask for {MAX_ARCHIVE_DAYS} or fewer."
        )
    cache = ArchiveCache(Path(cache_dir) if cache_dir is not None else default_cache_dir(), max_cache_bytes)
    dl = _Downloader(cache, session)
    try:
        return _load_days(dl, cache, sym, iv, t0, t1, last_end, days, progress)
    finally:
        if session is None:
            dl.session.close()


def _load_days(
    dl: _Downloader,
    cache: ArchiveCache,
    sym: str,
    iv: str,
    t0: pd.Timestamp,
    t1: pd.Timestamp,
    last_end: pd.Timestamp,
    days: list[date],
    progress: ProgressFn | None,
) -> MarketData:

    kline_parts: list[pd.DataFrame] = []
    oi_parts: list[pd.DataFrame] = []
    missing: list[date] = []
    missing_oi: list[date] = []
    oi_problem: str | None = None
    for i, day in enumerate(days, start=1):
        if progress is not None:
            progress(f"Downloading archive day {i}/{len(days)} ({day.isoformat()})…")
        url = kline_url(sym, iv, day)
        payload = dl.fetch(url)
        if payload is None:
            missing.append(day)
            continue
        name = url.rsplit("/", 1)[-1]
        kline_parts.append(_parse_klines(_read_zip_csv(payload, name, cache), name))
        if oi_problem is not None:
            continue
        murl = metrics_url(sym, day)
        try:
            mpayload = dl.fetch(murl)
            if mpayload is None:
                missing_oi.append(day)
                continue
            mname = murl.rsplit("/", 1)[-1]
            oi_parts.append(_parse_metrics(_read_zip_csv(mpayload, mname, cache), mname))
        except SourceError as exc:
            oi_problem = str(exc)

    if not kline_parts:
        raise NoDataError(
            f"The Binance archive has no {iv} klines for {sym} on {_span(days)}. Check the symbol; new days "
            "are published the morning after (UTC)."
        )
    candles = pd.concat(kline_parts, ignore_index=True)
    times = candles["open_time"]
    candles = candles[(times >= t0) & (times < last_end)]
    candles = candles.drop_duplicates("open_time").sort_values("open_time", ignore_index=True)
    if candles.empty:
        raise NoDataError(f"The Binance archive has no {iv} candles for {sym} inside the requested range.")

    first, last = candles["open_time"].iloc[0], candles["open_time"].iloc[-1]
    parts = [
        f"Binance public archive: {sym} {iv}, {first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC "
        f"({len(candles)} candles; complete days up to {days[-1].isoformat()})."
    ]
    if last_end < t1:
        parts.append("The archive has no data for today yet; the latest candles are missing.")
    if missing:
        parts.append(f"Missing day(s) skipped: {_span(missing)}.")
    oi: pd.DataFrame | None = None
    if oi_parts:
        oi = pd.concat(oi_parts, ignore_index=True)
        oi = oi[(oi["time"] >= t0) & (oi["time"] < last_end)]
        oi = oi.dropna().drop_duplicates("time").sort_values("time", ignore_index=True)
        if len(oi) < 2:
            oi = None
    if oi_problem is not None:
        parts.append(f"Open interest was not loaded: {oi_problem}")
    elif oi is None:
        parts.append("No open interest in the archive for this range.")
    else:
        parts.append("Open interest: archive metrics (sum_open_interest_value, 5m).")
        if missing_oi:
            parts.append(f"Open interest missing for {_span(missing_oi)}.")
    return MarketData(
        candles=candles, open_interest=oi, symbol=sym, interval=iv, source="archive", note=" ".join(parts)
    )


def _span(days: list[date]) -> str:
    if len(days) <= 4:
        return ", ".join(d.isoformat() for d in days)
    return f"{len(days)} days from {days[0].isoformat()} to {days[-1].isoformat()}"
