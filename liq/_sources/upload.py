"""The user's own CSV files: klines (required) and open interest (optional).

Only CSV text is read; nothing is ever unpickled or evaluated. Every problem is reported with the file,
the column and the line number (1-based, as a text editor or spreadsheet shows it), plus how to fix it.

Accepted candle layouts
    * Binance's kline CSV (as in the public archive), 12 columns, with or without its header line:
      ``open_time, open, high, low, close, volume, close_time, quote_volume, count, taker_buy_volume,
      taker_buy_quote_volume, ignore``.
    * Any CSV with a header naming at least ``open_time, open, high, low, close, volume`` (optionally
      ``quote_volume``, ``taker_buy_volume``; other columns are ignored). ``open_time`` may be epoch
      seconds/milliseconds/microseconds or ISO dates (no zone = UTC).

Accepted open-interest layouts (header required)
    ``time, open_interest_usd``; or Binance's ``timestamp, sumOpenInterestValue``; or the archive metrics file
    (``create_time, sum_open_interest_value``).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._errors import DataValidationError
from ._common import (
    BINANCE_KLINE_COLUMNS,
    EARLIEST_TIME,
    INTERVAL_MS,
    LATEST_TIME,
    MAX_OPEN_INTEREST_USD,
    MIN_CANDLES,
    OPTIONAL_CANDLE_COLUMNS,
    REQUIRED_CANDLE_COLUMNS,
    SYMBOL_PATTERN,
    MarketData,
    check_symbol,
)
from ._files import MAX_UPLOAD_BYTES, MAX_UPLOAD_ROWS, FileSource, decode_text, read_file_bytes, too_many_rows
from .validate import check_candle_values, check_time_order

__all__ = [
    "load_upload",
    "read_candles_csv",
    "read_open_interest_csv",
    "symbol_from_file_name",
]

# Binance's archive names a kline file SYMBOL-INTERVAL-DATE (BTCUSDT-5m-2024-12-01.zip / .csv).
_ARCHIVE_NAME = re.compile(r"^([A-Za-z0-9]{2,30})-(\d+[mhdwM])-\d{4}-\d{2}")


def symbol_from_file_name(name: str) -> str | None:
    """The pair a kline file's name gives, when it is named like Binance's archive (else None).

    >>> symbol_from_file_name("BTCUSDT-5m-2024-12-01.csv"), symbol_from_file_name("my_candles.csv")
    ('BTCUSDT', None)
    """
    found = _ARCHIVE_NAME.match(str(name).rsplit("/", 1)[-1].strip())
    if found is None:
        return None
    symbol = found.group(1).upper()
    return symbol if SYMBOL_PATTERN.match(symbol) else None


_REQUIRED = REQUIRED_CANDLE_COLUMNS
_OPTIONAL = OPTIONAL_CANDLE_COLUMNS
_ALIASES = {"open_time_ms": "open_time", "opentime": "open_time"}
_OI_TIME = ("time", "timestamp", "create_time")
_OI_VALUE = ("open_interest_usd", "sumopeninterestvalue", "sum_open_interest_value")

CsvSource = FileSource


@dataclass(frozen=True)
class _Table:
    header: list[str] | None
    rows: list[list[str]]
    lines: list[int]  # file line of each row


def _read_text(source: CsvSource, what: str, max_bytes: int, max_rows: int) -> str:
    return decode_text(read_file_bytes(source, what, max_bytes=max_bytes, max_rows=max_rows), what)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _tokenise(text: str, what: str, *, header: bool | None, max_bytes: int, max_rows: int) -> _Table:
    """Split CSV text into rows; ``header=None`` detects a header line (first cell not a number)."""
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or all(not cell.strip() for cell in row):
                continue
            rows.append([cell.strip() for cell in row])
            lines.append(reader.line_num)
            if len(rows) > max_rows + 1:  # + 1: the header line
                raise too_many_rows(what, max_bytes, max_rows)
    except csv.Error:
        raise DataValidationError(
            f"The {what} cannot be read as CSV near line {reader.line_num} (a quote that is never closed, or a "
            "cell far too long). Open it in a spreadsheet and save it again as CSV."
        ) from None
    if not rows:
        raise DataValidationError(f"The {what} is empty.")
    has_header = header if header is not None else not _is_number(rows[0][0])
    head: list[str] | None = None
    if has_header:
        head = [c.lower().lstrip("\ufeff") for c in rows[0]]
        rows, lines = rows[1:], lines[1:]
    width = len(head) if head is not None else len(rows[0]) if rows else 0
    for row, line in zip(rows, lines, strict=True):
        if len(row) != width:
            raise DataValidationError(
                f"The {what} has {len(row)} fields at line {line} but {width} in the "
                f"{'header' if head is not None else 'first line'}. Every line needs the same columns."
            )
    return _Table(head, rows, lines)


def _column_index(header: list[str], what: str) -> dict[str, int]:
    seen: dict[str, int] = {}
    for i, raw in enumerate(header):
        name = _ALIASES.get(raw, raw)
        if not name:
            continue
        if name in seen:
            raise DataValidationError(
                f"The {what} has the column '{name}' twice (columns {seen[name] + 1} and {i + 1})."
            )
        seen[name] = i
    return seen


_TIME_HINT = "epoch milliseconds such as 1733011200000, or a date such as 2024-12-01 00:00"
_BOUNDS_MS = (int(EARLIEST_TIME.value // 1_000_000), int(LATEST_TIME.value // 1_000_000))


def _out_of_range(what: str, column: str, line: int, cell: str) -> DataValidationError:
    return DataValidationError(
        f"The {what}: '{column}' at line {line} is {cell[:40]!r}, which is outside "
        f"{EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d} (expected {_TIME_HINT})."
    )


def _epoch_ms(cells: list[str], lines: list[int], column: str, what: str) -> np.ndarray:
    """Epoch seconds, milliseconds or microseconds (told apart by size) to milliseconds, within the bounds."""
    too_long = [i for i, c in enumerate(cells) if len(c.lstrip("-")) > 17]
    if too_long:
        raise _out_of_range(what, column, lines[too_long[0]], cells[too_long[0]])
    v = np.array(cells).astype(np.int64)
    v = np.where(v < 10**11, v * 1000, np.where(v >= 10**14, v // 1000, v))  # seconds / microseconds
    bad = (v < _BOUNDS_MS[0]) | (v > _BOUNDS_MS[1])
    if bad.any():
        i = int(np.argmax(bad))
        raise _out_of_range(what, column, lines[i], cells[i])
    return v


def _parse_times(cells: list[str], lines: list[int], column: str, what: str) -> np.ndarray:
    """Epoch s/ms/µs or ISO dates to int64 nanoseconds since the epoch (UTC); one range rule for both."""
    if all(c.lstrip("-").isdigit() for c in cells):
        return _epoch_ms(cells, lines, column, what) * 1_000_000
    for i, c in enumerate(cells):
        if not c:
            raise DataValidationError(
                f"The {what}: '{column}' is empty at line {lines[i]}; every row needs a time."
            )
    parsed = pd.to_datetime(pd.Series(cells), format="ISO8601", utc=True, errors="coerce")
    nat = parsed.isna().to_numpy()
    if nat.any():
        i = int(np.argmax(nat))
        raise DataValidationError(
            f"The {what}: '{column}' at line {lines[i]} is {cells[i][:40]!r}, which is not a time. Use {_TIME_HINT}."
        )
    bad = ((parsed < EARLIEST_TIME) | (parsed > LATEST_TIME)).to_numpy()
    if bad.any():  # checked before the conversion to nanoseconds, which ends in 2262
        i = int(np.argmax(bad))
        raise _out_of_range(what, column, lines[i], cells[i])
    return parsed.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").astype(np.int64)


def _parse_numbers(
    cells: list[str], lines: list[int], column: str, what: str, *, optional: bool
) -> np.ndarray:
    out = np.empty(len(cells), dtype=np.float64)
    for i, c in enumerate(cells):
        if not c or c.lower() in ("nan", "na", "null", "none"):
            if optional:
                out[i] = math.nan
                continue
            raise DataValidationError(
                f"The {what}: '{column}' is missing (empty or NaN) at line {lines[i]}. Fill in or delete that line."
            )
        try:
            v = float(c)
        except ValueError:
            raise DataValidationError(
                f"The {what}: '{column}' at line {lines[i]} is {c!r}, which is not a number."
            ) from None
        if not math.isfinite(v):
            raise DataValidationError(
                f"The {what}: '{column}' at line {lines[i]} is {c!r}; it must be a finite number."
            )
        out[i] = v
    return out


def _check_order(ns: np.ndarray, lines: list[int], column: str, what: str) -> None:
    check_time_order(
        ns,
        column,
        lambda i: f"line {lines[i]}",
        f"The {what}:",
        fix_repeat="Remove the duplicate line.",
        fix_order=f"Sort the file by {column}, oldest first.",
    )


def read_candles_csv(
    source: CsvSource, *, max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int = MAX_UPLOAD_ROWS
) -> pd.DataFrame:
    """Parse and validate a kline CSV into the engine's candle columns.

    Parameters
    ----------
    source : bytes, str/Path (a file path) or a binary/text file object
        The CSV (see the module docstring for the layouts), optionally gzip-compressed or zipped.
    max_bytes : int
        Size limit of the file and of its unpacked content.
    max_rows : int
        Most candles accepted: more than the app can estimate for many users at once is refused.

    Returns
    -------
    DataFrame
        ``open_time`` (UTC), ``open, high, low, close, volume`` and any of ``quote_volume``,
        ``taker_buy_volume`` present in the file; float64, sorted, unique times.

    Raises
    ------
    DataValidationError
        Naming the column and line, and how to fix it.

    Examples
    --------
    >>> text = "open_time,open,high,low,close,volume\\n" + "".join(
    ...     f"2024-12-01 00:{m:02d},100,101,99,100.5,3\\n" for m in range(0, 60, 5))
    >>> read_candles_csv(text.encode()).shape
    (12, 6)
    >>> read_candles_csv(text.replace("100.5", "abc", 1).encode())
    Traceback (most recent call last):
    ...
    liq._errors.DataValidationError: The candles file: 'close' at line 2 is 'abc', which is not a number.
    """
    what = "candles file"
    text = _read_text(source, what, max_bytes, max_rows)
    table = _tokenise(text, what, header=None, max_bytes=max_bytes, max_rows=max_rows)
    if table.header is None:
        width = len(table.rows[0])
        if width != len(BINANCE_KLINE_COLUMNS):
            raise DataValidationError(
                f"The {what} has no header line and {width} columns. Without a header it must be Binance's "
                f"12-column kline layout; otherwise add a header line such as {','.join(_REQUIRED)}."
            )
        index = {name: i for i, name in enumerate(BINANCE_KLINE_COLUMNS)}
    else:
        index = _column_index(table.header, what)
        missing = [c for c in _REQUIRED if c not in index]
        if missing:
            found = ", ".join(h for h in table.header if h) or "none"
            raise DataValidationError(
                f"The {what} is missing column(s) {', '.join(missing)} (found: {found}). The header needs "
                f"{', '.join(_REQUIRED)}."
            )
    rows, lines = table.rows, table.lines
    if len(rows) < MIN_CANDLES:
        raise DataValidationError(
            f"The {what} has {len(rows)} candle(s); at least {MIN_CANDLES} are needed for an estimate."
        )

    def cells(name: str) -> list[str]:
        j = index[name]
        return [r[j] for r in rows]

    ns = _parse_times(cells("open_time"), lines, "open_time", what)
    out = pd.DataFrame({"open_time": pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC")})
    for name in _REQUIRED[1:]:
        out[name] = _parse_numbers(cells(name), lines, name, what, optional=False)
    for name in _OPTIONAL:
        if name in index:
            out[name] = _parse_numbers(cells(name), lines, name, what, optional=True)
    _check_order(ns, lines, "open_time", what)
    check_candle_values(out, lambda i: f"at line {lines[i]}", f"The {what}:")
    return out


def read_open_interest_csv(
    source: CsvSource, *, max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int = MAX_UPLOAD_ROWS
) -> pd.DataFrame:
    """Parse and validate an open-interest CSV into ``time`` (UTC) and ``open_interest_usd``.

    Examples
    --------
    >>> read_open_interest_csv(b"time,open_interest_usd\\n1733011200000,8.1e9\\n1733011500000,8.2e9\\n")
                           time  open_interest_usd
    0 2024-12-01 00:00:00+00:00       8.100000e+09
    1 2024-12-01 00:05:00+00:00       8.200000e+09
    """
    what = "open-interest file"
    text = _read_text(source, what, max_bytes, max_rows)
    table = _tokenise(text, what, header=True, max_bytes=max_bytes, max_rows=max_rows)
    assert table.header is not None
    index = _column_index([h.replace(" ", "") for h in table.header], what)
    t_col = next((c for c in _OI_TIME if c in index), None)
    v_col = next((c for c in _OI_VALUE if c in index), None)
    if t_col is None or v_col is None:
        raise DataValidationError(
            f"The {what} needs a time column ({' or '.join(_OI_TIME)}) and a USD value column "
            f"(open_interest_usd, sumOpenInterestValue or sum_open_interest_value); found: "
            f"{', '.join(table.header)}."
        )
    rows, lines = table.rows, table.lines
    if len(rows) < 2:
        raise DataValidationError(f"The {what} has {len(rows)} row(s); at least 2 are needed to see changes.")
    ns = _parse_times([r[index[t_col]] for r in rows], lines, t_col, what)
    usd = _parse_numbers([r[index[v_col]] for r in rows], lines, v_col, what, optional=False)
    bad = usd < 0
    if bad.any():
        i = int(np.argmax(bad))
        raise DataValidationError(
            f"The {what}: '{v_col}' is negative at line {lines[i]}; open interest is ≥ 0."
        )
    bad = usd > MAX_OPEN_INTEREST_USD
    if bad.any():
        i = int(np.argmax(bad))
        raise DataValidationError(
            f"The {what}: '{v_col}' is {usd[i]:g} at line {lines[i]}, above {MAX_OPEN_INTEREST_USD:g} USD; "
            "check that the column holds USD values."
        )
    _check_order(ns, lines, t_col, what)
    return pd.DataFrame(
        {"time": pd.DatetimeIndex(ns.astype("datetime64[ns]")).tz_localize("UTC"), "open_interest_usd": usd}
    )


def _interval_name(step_ms: int) -> str:
    for name, ms in INTERVAL_MS.items():
        if ms == step_ms:
            return name
    if step_ms % 86_400_000 == 0:
        return f"{step_ms // 86_400_000}d"
    if step_ms % 3_600_000 == 0:
        return f"{step_ms // 3_600_000}h"
    if step_ms % 60_000 == 0:
        return f"{step_ms // 60_000}m"
    return f"{step_ms / 1000:g}s"


def load_upload(
    candles_csv: CsvSource,
    open_interest_csv: CsvSource | None = None,
    *,
    symbol: str = "BTCUSDT",
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> MarketData:
    """Read the user's CSV file(s) into :class:`MarketData` (source ``"upload"``).

    The interval is inferred from the most common spacing of the candles; gaps are reported in the note.

    Parameters
    ----------
    candles_csv : bytes, path or file object
        The kline CSV.
    open_interest_csv : bytes, path or file object, optional
        The open-interest CSV; it must overlap the candles in time.
    symbol : str
        The contract the file is for (picks the margin brackets in the estimate).
    max_bytes : int
        Size limit per file.

    Examples
    --------
    >>> rows = "".join(f"{1733011200000 + i * 300_000},100,101,99,100.5,3,0,300,1,1.5,150,0\\n" for i in range(12))
    >>> d = load_upload(rows.encode(), symbol="ETHUSDT")
    >>> d.source, d.interval, len(d.candles), list(d.candles.columns)[-2:]
    ('upload', '5m', 12, ['quote_volume', 'taker_buy_volume'])
    """
    sym = check_symbol(symbol)
    candles = read_candles_csv(candles_csv, max_bytes=max_bytes)
    ms = candles["open_time"].to_numpy("datetime64[ms]").astype(np.int64)
    steps = np.diff(ms)
    values, counts = np.unique(steps, return_counts=True)
    step = int(values[np.argmax(counts)])
    interval = _interval_name(step)
    gaps = int((steps != step).sum())
    first, last = candles["open_time"].iloc[0], candles["open_time"].iloc[-1]
    parts = [
        f"Uploaded file: {sym} {interval}, {first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC ({len(candles)} candles)."
    ]
    if gaps:
        parts.append(f"{gaps} irregular step(s) between candles (gaps in the file).")
    oi: pd.DataFrame | None = None
    if open_interest_csv is not None:
        oi = read_open_interest_csv(open_interest_csv, max_bytes=max_bytes)
        o0, o1 = oi["time"].iloc[0], oi["time"].iloc[-1]
        if o1 < first or o0 > last + pd.Timedelta(milliseconds=step):
            raise DataValidationError(
                f"The open-interest file covers {o0:%Y-%m-%d %H:%M} → {o1:%Y-%m-%d %H:%M} UTC, which does not "
                f"overlap the candles ({first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC)."
            )
        parts.append(f"Open interest: uploaded file ({len(oi)} rows).")
    else:
        parts.append("No open-interest file.")
    return MarketData(
        candles=candles,
        open_interest=oi,
        symbol=sym,
        interval=interval,
        source="upload",
        note=" ".join(parts),
    )
