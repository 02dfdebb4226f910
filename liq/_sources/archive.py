"""Binance public data archive (data.binance.vision): monthly and daily zip files of USDⓈ-M klines and metrics.

This source works where the live API answers HTTP 451 (it is plain file hosting). It holds complete days
only, so it covers up to yesterday (UTC); a day that is not published yet answers 404, is skipped, and is
named in the note. A calendar month that lies wholly inside the range (and is over) is read from its one
monthly kline file, so a year is about a dozen downloads, not 365; a month whose file is not published yet
is read day by day. Open interest comes from the daily *metrics* files (``sum_open_interest_value``, 5-minute
rows; the archive has no monthly metrics), which go further back than the live API's 30 days; a range that
uses monthly files reads the metrics of its last :data:`LONG_RANGE_OI_DAYS` days only.

Downloaded zips are kept in a bounded disk cache: ``$LIQ_CACHE_DIR`` or ``~/.cache/liq-heatmap``, at most
``DEFAULT_CACHE_BYTES`` in total, oldest files evicted first.
"""

from __future__ import annotations

import calendar
import hashlib
import io
import os
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

from .._errors import NetworkError, NoDataError, SourceError
from ._common import (
    MarketData,
    ProgressFn,
    check_request,
    kline_rows_frame,
)
from ._files import read_zip_member
from ._http import DeadlineSession, TooLarge, describe_failure

__all__ = [
    "ARCHIVE_BASE_URL",
    "DEFAULT_CACHE_BYTES",
    "ArchiveCache",
    "default_cache_dir",
    "kline_url",
    "load_archive",
    "metrics_url",
    "monthly_kline_url",
]

#: Root of the public archive's daily files.
ARCHIVE_BASE_URL = "https://data.binance.vision/data/futures/um/daily"
#: Root of the public archive's monthly files.
ARCHIVE_MONTHLY_URL = "https://data.binance.vision/data/futures/um/monthly"
#: Default cap of the disk cache.
DEFAULT_CACHE_BYTES = 512 * 1024 * 1024
#: Total deadline of one archive download (connect, headers and body), seconds.
ARCHIVE_TIMEOUT_S = 10.0
#: Largest zip downloaded (one day of 1m klines is about 60 KB zipped, one month about 2 MB).
MAX_ARCHIVE_ZIP_BYTES = 8_000_000
#: Largest CSV read out of a zip (one day of 1m klines is about 190 KB, one month about 6 MB).
MAX_ARCHIVE_CSV_BYTES = 16_000_000
#: Most days one request may span (about two years), to keep downloads bounded.
MAX_ARCHIVE_DAYS = 800
#: Days of daily metrics (open interest) read for a range that uses monthly kline files.
LONG_RANGE_OI_DAYS = 30


def kline_url(symbol: str, interval: str, day: date) -> str:
    """URL of one day of klines.

    Examples
    --------
    >>> from datetime import date
    >>> kline_url("BTCUSDT", "5m", date(2024, 12, 1))
    'https://data.binance.vision/data/futures/um/daily/klines/BTCUSDT/5m/BTCUSDT-5m-2024-12-01.zip'
    """
    return f"{ARCHIVE_BASE_URL}/klines/{symbol}/{interval}/{symbol}-{interval}-{day.isoformat()}.zip"


def monthly_kline_url(symbol: str, interval: str, month: date) -> str:
    """URL of one calendar month of klines (``month`` is any day of it).

    Examples
    --------
    >>> from datetime import date
    >>> monthly_kline_url("BTCUSDT", "1h", date(2025, 3, 1))
    'https://data.binance.vision/data/futures/um/monthly/klines/BTCUSDT/1h/BTCUSDT-1h-2025-03.zip'
    """
    return f"{ARCHIVE_MONTHLY_URL}/klines/{symbol}/{interval}/{symbol}-{interval}-{month:%Y-%m}.zip"


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
        if self._grow(len(payload)) > self.max_bytes:
            self.evict(keep=path)

    def _grow(self, added: int) -> int:
        """This process's running total of the folder's bytes after adding ``added`` (one scan to start it).

        Checking the whole folder on every download cost more than the download once the folder held
        thousands of days; the scan now runs only when the total passes the cap (and then sets it exactly).
        Files written by other processes are counted at that scan.
        """
        root = self.folder / "archive"
        with _TOTALS_LOCK:
            known = _TOTALS.get(root)
            total = (known if known is not None else sum(size for _, size, _ in _files(root))) + added
            _TOTALS[root] = total
            return total

    def drop(self, name: str) -> None:
        """Remove one file (e.g. a corrupt zip)."""
        try:
            self._path(name).unlink()
        except OSError:
            pass

    def evict(self, keep: Path | None = None) -> None:
        """Delete the oldest files until the folder is within ``max_bytes``."""
        root = self.folder / "archive"
        files = _files(root)
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
        with _TOTALS_LOCK:
            _TOTALS[root] = total


#: Bytes in each cache folder as this process last knew them (see :meth:`ArchiveCache._grow`).
_TOTALS: dict[Path, int] = {}
_TOTALS_LOCK = threading.Lock()


def _files(root: Path) -> list[tuple[float, int, Path]]:
    """(modified time, size, path) of every file in ``root`` (one ``stat`` each); [] when it cannot be read."""
    out = []
    try:
        with os.scandir(root) as entries:
            for entry in entries:
                try:
                    if entry.is_file():
                        st = entry.stat()
                        out.append((st.st_mtime, st.st_size, Path(entry.path)))
                except OSError:
                    continue
    except OSError:
        return []
    return out


class _Downloader:
    """Daily archive CSVs, from the disk cache or the network, each checked before it is used or cached."""

    def __init__(self, cache: ArchiveCache, session: DeadlineSession | None, timeout_s: float) -> None:
        self.cache = cache
        self.timeout_s = timeout_s
        self.session = session if session is not None else DeadlineSession(timeout_s)

    def _download(self, url: str, name: str) -> bytes | None:
        """Zip bytes from the network, or None when the archive answers 404."""
        try:
            status, payload = self.session.get_capped(url, MAX_ARCHIVE_ZIP_BYTES)
        except TooLarge:
            raise SourceError(
                f"The archive file {name} is larger than {MAX_ARCHIVE_ZIP_BYTES / 1e6:.0f} MB, far more than the "
                "day or month of data it should hold; it was not used. Try again later, or use the sample source."
            ) from None
        except requests.exceptions.RequestException as exc:
            what = describe_failure(exc, "the Binance archive (data.binance.vision)", self.timeout_s)
            raise NetworkError(
                f"{what[:1].upper()}{what[1:]} while downloading {name}; try again later."
            ) from None
        if status == 404:
            return None
        if status != 200:
            raise SourceError(f"The Binance archive answered HTTP {status} for {name}; try again later.")
        return payload

    def parsed(self, url: str, parse: Callable[[bytes, str], pd.DataFrame]) -> pd.DataFrame | None:
        """``parse`` of the CSV inside the zip at ``url`` (None when the file is not published).

        A file from the network is cached on disk only after it was read successfully; a cached file that
        fails is removed from the disk cache. Parsed files are also kept in memory, by name and content
        (:data:`PARSED_KEEP_BYTES`), so ranges that share days unpack and parse each day once.
        """
        name = url.rsplit("/", 1)[-1]
        cached = self.cache.get(name)
        payload = cached if cached is not None else self._download(url, name)
        if payload is None:
            return None
        key = (name, parse.__name__, hashlib.blake2b(payload, digest_size=16).digest())
        frame = _PARSED.get(key)  # these very bytes were read successfully before
        if frame is None:
            try:
                frame = parse(_read_zip_csv(payload, name), name)
            except SourceError:
                if cached is not None:
                    self.cache.drop(name)
                raise
            _PARSED.put(key, frame)
        if cached is None:
            self.cache.put(name, payload)
        return frame


#: Bytes of parsed archive files kept in memory across loads (a day of 5m candles is ~25 KB).
PARSED_KEEP_BYTES = 48 * 1024 * 1024


class _ParsedFiles:
    """Parsed files, least recently used dropped first once they hold more than ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str, bytes], tuple[pd.DataFrame, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, bytes]) -> pd.DataFrame | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: tuple[str, str, bytes], frame: pd.DataFrame) -> None:
        size = frame_nbytes(frame)
        with self._lock:
            if key in self._items or size > self.max_bytes:
                return
            self._items[key] = (frame, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped


_PARSED = _ParsedFiles(PARSED_KEEP_BYTES)


def frame_nbytes(frame: pd.DataFrame) -> int:
    """The bytes of ``frame``'s columns (a parsed file's numbers and times; ``memory_usage`` costs 0.5 ms more)."""
    return sum(int(frame.iloc[:, i].array.nbytes) for i in range(frame.shape[1]))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """A zip member's bytes, refusing a declared or actual size above MAX_ARCHIVE_CSV_BYTES."""
    raw = read_zip_member(zf, info, MAX_ARCHIVE_CSV_BYTES)
    if raw is None:
        raise SourceError(
            f"The archive file {name} unpacks to more than {MAX_ARCHIVE_CSV_BYTES / 1e6:.0f} MB, far more than "
            "the day or month of data it should hold; it was not used."
        )
    return raw


def _read_zip_csv(payload: bytes, name: str) -> bytes:
    """The bytes of the CSV named like the zip (``X.zip`` holds ``X.csv``).

    Raises SourceError when the zip is damaged, holds another file (another symbol, interval or day),
    unpacks to too much, or holds an empty CSV.
    """
    expected = name[: -len(".zip")] + ".csv"
    try:
        with zipfile.ZipFile(io.BytesIO(payload)) as zf:
            csvs = [i for i in zf.infolist() if i.filename.lower().endswith(".csv")]
            if not csvs:
                raise zipfile.BadZipFile("no CSV inside")
            info = next((i for i in csvs if i.filename.rsplit("/", 1)[-1] == expected), None)
            if info is None:
                raise SourceError(
                    f"The archive file {name} holds {csvs[0].filename[:80]!r} instead of {expected}; it is not "
                    "the data asked for, so it was not used."
                )
            raw = _read_member(zf, info, name)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, KeyError, ValueError):
        raise SourceError(
            f"The archive file {name} is damaged (not a readable zip). It was not kept; loading again will "
            "download it afresh."
        ) from None
    if not raw.strip():
        raise SourceError(
            f"The archive file {name} holds an empty {expected}; the archive may still be publishing that day. "
            "Try again later, or choose a range that ends a day earlier."
        )
    return raw


def _csv_table(raw: bytes, name: str, **options: Any) -> pd.DataFrame:
    """``raw`` read by pandas' C parser with numbers as numbers: 2-3× faster than reading text cells and
    converting them, to the same floats (pandas 3 converts as Python's ``float`` does). A column with a cell
    that is not a number stays text, which the parsers below refuse with their own message."""
    try:
        return pd.read_csv(io.BytesIO(raw), **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise SourceError(f"The archive file {name} is not a readable CSV; it may be damaged.") from None


def _parse_klines(raw: bytes, name: str) -> pd.DataFrame:
    """Archive kline CSV (with or without the header line) to engine columns."""
    text = raw.lstrip()
    header = not (text[:1].isdigit() or text[:1] == b"-")  # Binance's newer files start with a header line
    # the header line alone: a day without candles
    if header and not text.partition(b"\n")[2].strip():
        return kline_rows_frame(np.empty((0, 12), dtype=object))
    table = _csv_table(raw, name, header=None, skiprows=1 if header else 0)
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


def _parse_metrics(raw: bytes, name: str) -> pd.DataFrame:
    """Archive metrics CSV to ``time, open_interest_usd``."""
    body = _csv_table(raw, name, header=0)
    body.columns = [str(v).strip() for v in body.columns]
    if "create_time" not in body.columns or "sum_open_interest_value" not in body.columns:
        raise SourceError(f"The archive file {name} lacks create_time / sum_open_interest_value columns.")
    try:
        times = pd.DatetimeIndex(pd.to_datetime(body["create_time"], utc=True, format="ISO8601")).as_unit(
            "ns"
        )
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
    session: DeadlineSession | None = None,
    timeout_s: float = ARCHIVE_TIMEOUT_S,
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
    session : DeadlineSession, optional
        HTTP session to use (default: a new one with ``timeout_s``).
    timeout_s : float
        Total deadline of each download (connect, headers and body).

    Raises
    ------
    NoDataError
        No day in the range is in the archive (unknown symbol, or the range is today/in the future).
    NetworkError, SourceError
        The archive could not be reached or did not answer within ``timeout_s``, answered an error, or a
        file is damaged, too large, empty or not the one asked for (such a file is never cached).
    """
    req = check_request(symbol, interval, start, end, now)
    sym, iv, t0, t1 = req.symbol, req.interval, req.start, req.end
    today = req.now.normalize()
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
    dl = _Downloader(cache, session, timeout_s)
    try:
        return _load_days(dl, sym, iv, t0, t1, last_end, days, progress)
    finally:
        if session is None:
            dl.session.close()


@dataclass(frozen=True)
class _Piece:
    """One kline file to read: a calendar month or a single day."""

    url: str
    days: tuple[date, ...]
    label: str
    monthly: bool


def _daily_pieces(sym: str, iv: str, days: list[date]) -> list[_Piece]:
    return [_Piece(kline_url(sym, iv, d), (d,), d.isoformat(), False) for d in days]


def _plan(sym: str, iv: str, days: list[date]) -> list[_Piece]:
    """Monthly files for the calendar months ``days`` cover whole, daily files for the rest.

    ``days`` ends before today, so a whole month in it is over and its monthly file can exist.
    """
    by_month: dict[tuple[int, int], list[date]] = {}
    for d in days:
        by_month.setdefault((d.year, d.month), []).append(d)
    pieces: list[_Piece] = []
    for (year, month), in_month in by_month.items():
        if len(in_month) == calendar.monthrange(year, month)[1]:
            url = monthly_kline_url(sym, iv, in_month[0])
            pieces.append(_Piece(url, tuple(in_month), f"{year:04d}-{month:02d}", True))
        else:
            pieces.extend(_daily_pieces(sym, iv, in_month))
    return pieces


@dataclass
class _Klines:
    parts: list[pd.DataFrame] = field(default_factory=list)
    missing: list[date] = field(default_factory=list)
    found: list[date] = field(default_factory=list)
    monthly_files: int = 0
    daily_files: int = 0


def _fetch_klines(
    dl: _Downloader, sym: str, iv: str, pieces: list[_Piece], progress: ProgressFn | None
) -> _Klines:
    """Read every piece; a monthly file the archive does not have yet is read day by day instead."""
    out = _Klines()
    queue = list(pieces)
    done = 0
    while queue:
        piece = queue.pop(0)
        done += 1
        if progress is not None:
            kind = "day" if not any(p.monthly for p in pieces) else "file"
            progress(f"Downloading archive {kind} {done}/{done + len(queue)} ({piece.label})…")
        frame = dl.parsed(piece.url, _parse_klines)
        if frame is None:
            if piece.monthly:
                queue[0:0] = _daily_pieces(sym, iv, list(piece.days))
            else:
                out.missing.extend(piece.days)
            continue
        out.parts.append(frame)
        out.found.extend(piece.days)
        out.monthly_files += piece.monthly
        out.daily_files += not piece.monthly
    return out


@dataclass
class _OpenInterest:
    parts: list[pd.DataFrame] = field(default_factory=list)
    missing: list[date] = field(default_factory=list)
    problem: str | None = None


def _fetch_open_interest(dl: _Downloader, sym: str, days: list[date]) -> _OpenInterest:
    """Daily metrics of ``days``; the first bad file stops the open interest (the candles stay)."""
    out = _OpenInterest()
    for day in days:
        murl = metrics_url(sym, day)
        try:
            frame = dl.parsed(murl, _parse_metrics)
        except SourceError as exc:
            out.problem = str(exc)
            return out
        if frame is None:
            out.missing.append(day)
            continue
        out.parts.append(frame)
    return out


def _load_days(
    dl: _Downloader,
    sym: str,
    iv: str,
    t0: pd.Timestamp,
    t1: pd.Timestamp,
    last_end: pd.Timestamp,
    days: list[date],
    progress: ProgressFn | None,
) -> MarketData:
    pieces = _plan(sym, iv, days)
    kl = _fetch_klines(dl, sym, iv, pieces, progress)
    if not kl.parts:
        raise NoDataError(
            f"The Binance archive has no {iv} klines for {sym} on {_span(days)}. Check the symbol; new days "
            "are published the morning after (UTC)."
        )
    long_range = kl.monthly_files > 0
    oi_days = sorted(kl.found)[-LONG_RANGE_OI_DAYS:] if long_range else sorted(kl.found)
    oi_got = _fetch_open_interest(dl, sym, oi_days)
    candles = pd.concat(kl.parts, ignore_index=True)
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
    if long_range:
        parts.append(f"Read from {kl.monthly_files} monthly and {kl.daily_files} daily file(s).")
    if last_end < t1:
        parts.append("The archive has no data for today yet; the latest candles are missing.")
    if kl.missing:
        parts.append(f"Missing day(s) skipped: {_span(sorted(kl.missing))}.")
    oi = _oi_frame(oi_got.parts, t0, last_end)
    parts.extend(_oi_notes(oi, oi_got, long_range))
    return MarketData(
        candles=candles, open_interest=oi, symbol=sym, interval=iv, source="archive", note=" ".join(parts)
    )


def _oi_frame(parts: list[pd.DataFrame], t0: pd.Timestamp, last_end: pd.Timestamp) -> pd.DataFrame | None:
    if not parts:
        return None
    oi = pd.concat(parts, ignore_index=True)
    oi = oi[(oi["time"] >= t0) & (oi["time"] < last_end)]
    oi = oi.dropna().drop_duplicates("time").sort_values("time", ignore_index=True)
    return oi if len(oi) >= 2 else None


def _oi_notes(oi: pd.DataFrame | None, got: _OpenInterest, long_range: bool) -> list[str]:
    if got.problem is not None:
        return [f"Open interest was not loaded: {got.problem}"]
    if oi is None:
        return ["No open interest in the archive for this range."]
    notes = ["Open interest: archive metrics (sum_open_interest_value, 5m)."]
    if long_range:
        notes.append(
            f"The archive has daily metrics files only, so open interest covers the last {LONG_RANGE_OI_DAYS} "
            "days of the range."
        )
    if got.missing:
        notes.append(f"Open interest missing for {_span(got.missing)}.")
    return notes


def _span(days: list[date]) -> str:
    if len(days) <= 4:
        return ", ".join(d.isoformat() for d in days)
    return f"{len(days)} days from {days[0].isoformat()} to {days[-1].isoformat()}"
