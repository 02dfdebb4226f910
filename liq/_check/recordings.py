"""Read recorded Binance USDⓈ-M liquidation (``forceOrder``) events into one tidy, validated frame.

Three layouts are understood, detected from the column names:

* the full forceOrder layout: ``time_ms`` (trade time, epoch ms), ``symbol``, ``side``, ``price`` (order
  price ``p``), ``avg_price`` (``ap``), ``filled_accumulated_qty`` (``z``) ... This is the layout of the
  built-in Dec 2024 record and of this package's own recorder (``python -m liq record-liquidations``);
* the compact layout ``time_ms`` or ``timestamp``, ``symbol``, ``side``, ``avg_price``, ``filled_qty``
  (and ``usd_value``), as in the built-in Oct 2025 excerpt;
* the output of :func:`load_liquidations` itself (``time, symbol, side, price, qty``), so a cleaned frame can
  be saved and read back.

Binance's side is the side of the *liquidation order*: a ``SELL`` closes a long (a long was liquidated), a
``BUY`` closes a short.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Union

import numpy as np
import pandas as pd

from .._errors import DataValidationError
from .._sources._common import CONTRACT_PATTERN, EARLIEST_TIME, LATEST_TIME, MAX_PRICE, MAX_VOLUME
from .._sources._files import MAX_RECORDING_ROWS, MAX_UPLOAD_BYTES, FileSource, read_file_bytes, too_many_rows
from .events import LIQUIDATION_COLUMNS, SIDE_OF_ORDER, empty_events, events_frame, fill_price, sane_amounts

__all__ = ["LIQUIDATION_COLUMNS", "load_gaps", "load_liquidations"]

PathOrBuffer = Union[str, "os.PathLike[str]", IO[str], IO[bytes], pd.DataFrame]

_TIME_MS_COLUMNS = ("time_ms", "trade_time_ms", "event_time_ms")
_TIME_TEXT_COLUMNS = ("time", "time_utc", "timestamp", "datetime")
_QTY_COLUMNS = ("filled_accumulated_qty", "filled_qty", "qty", "last_filled_qty", "orig_qty")
_AVG_PRICE_COLUMNS = ("avg_price",)
_ORDER_PRICE_COLUMNS = ("price", "reported_price_raw")


def _read(path_or_buffer: PathOrBuffer) -> tuple[pd.DataFrame, str]:
    """Read the raw table (at most MAX_UPLOAD_MB unpacked and MAX_RECORDING_ROWS events); return it with a name."""
    if isinstance(path_or_buffer, pd.DataFrame):
        return path_or_buffer.copy(), "the given table"
    is_path = isinstance(path_or_buffer, (str, os.PathLike))
    name = str(path_or_buffer) if is_path else "the uploaded file"
    if is_path and not Path(path_or_buffer).exists():  # type: ignore[arg-type]
        raise DataValidationError(f"No liquidation file at {name!r}. Check the path.")
    source: FileSource = Path(path_or_buffer) if is_path else path_or_buffer  # type: ignore[assignment, arg-type]
    what = "liquidation recording"
    data = read_file_bytes(source, what, max_bytes=MAX_UPLOAD_BYTES, max_rows=MAX_RECORDING_ROWS)
    if not data.strip():
        raise DataValidationError(
            f"{name} is empty. A liquidation recording needs a header row and one row per event."
        )
    try:
        raw = pd.read_csv(io.BytesIO(data), nrows=MAX_RECORDING_ROWS + 1)
    except pd.errors.EmptyDataError:
        raise DataValidationError(
            f"{name} is empty. A liquidation recording needs a header row and one row per event."
        ) from None
    except (UnicodeDecodeError, pd.errors.ParserError, ValueError):
        raise DataValidationError(
            f"Could not read {name} as CSV. Save the recording as a comma-separated UTF-8 text file "
            "(optionally gzip-compressed)."
        ) from None
    if len(raw) > MAX_RECORDING_ROWS:
        raise too_many_rows(what, MAX_UPLOAD_BYTES, MAX_RECORDING_ROWS)
    raw.columns = [str(c).strip().lower() for c in raw.columns]
    return raw, name


def _first(raw: pd.DataFrame, candidates: Sequence[str]) -> str | None:
    return next((c for c in candidates if c in raw.columns), None)


def _numeric(raw: pd.DataFrame, column: str, name: str) -> np.ndarray:
    values = pd.to_numeric(raw[column], errors="coerce")
    bad = values.isna() & raw[column].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(
            f"{name}: column {column!r} has a value that is not a number ({raw[column].iloc[row]!r}, data row "
            f"{row + 1}). Fix or remove that row."
        )
    return values.to_numpy(dtype=np.float64, na_value=np.nan)


def _times(raw: pd.DataFrame, name: str) -> pd.Series:
    ms_col = _first(raw, _TIME_MS_COLUMNS)
    if ms_col is not None:
        ms = _numeric(raw, ms_col, name)
        if np.isnan(ms).any():
            row = int(np.flatnonzero(np.isnan(ms))[0])
            raise DataValidationError(
                f"{name}: {ms_col!r} is empty on data row {row + 1}; every event needs a time."
            )
        lo, hi = (t.value / 1e6 for t in (EARLIEST_TIME, LATEST_TIME))
        if len(ms) and (ms.min() < lo or ms.max() > hi):
            raise DataValidationError(
                f"{name}: {ms_col!r} should hold Unix epoch milliseconds from {EARLIEST_TIME:%Y-%m-%d} to "
                f"{LATEST_TIME:%Y-%m-%d} (13 digits, e.g. 1733330785584); found values from {ms.min():.0f} to "
                f"{ms.max():.0f}."
            )
        return pd.Series(pd.to_datetime(ms.astype(np.int64), unit="ms", utc=True))
    text_col = _first(raw, _TIME_TEXT_COLUMNS)
    if text_col is None:
        raise DataValidationError(
            f"{name} has no time column. Expected 'time_ms' (epoch milliseconds) or one of "
            f"{list(_TIME_TEXT_COLUMNS)}; found {list(raw.columns)}."
        )
    col = raw[text_col]
    if pd.api.types.is_datetime64_any_dtype(col):
        parsed = pd.Series(col)
    else:
        parsed = pd.to_datetime(col.astype("string"), errors="coerce", utc=False, format="mixed")
        if parsed.isna().any():
            row = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise DataValidationError(
                f"{name}: could not read the time {col.iloc[row]!r} on data row {row + 1}. Use ISO times such "
                "as 2024-12-04T16:46:25.584Z (UTC)."
            )
    # Naive times are taken as UTC (the recorders we know all write UTC); aware ones are converted.
    tz = getattr(parsed.dt, "tz", None)
    utc = parsed.dt.tz_localize("UTC") if tz is None else parsed.dt.tz_convert("UTC")
    outside = ((utc < EARLIEST_TIME) | (utc > LATEST_TIME)).to_numpy()
    if outside.any():  # checked before any conversion to nanoseconds, which end in 2262
        row = int(np.flatnonzero(outside)[0])
        raise DataValidationError(
            f"{name}: the time {str(col.iloc[row])[:40]!r} on data row {row + 1} is outside "
            f"{EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d}."
        )
    return utc


def _check_layout(raw: pd.DataFrame, name: str) -> str:
    """Raise unless the table has the columns of a recording; return the quantity column's name."""
    missing = [col for col in ("symbol", "side") if col not in raw]
    qty_col = _first(raw, _QTY_COLUMNS)
    if qty_col is None:
        missing.append("a filled quantity ('filled_accumulated_qty', 'filled_qty' or 'qty')")
    if _first(raw, _AVG_PRICE_COLUMNS + _ORDER_PRICE_COLUMNS) is None:
        missing.append("a price ('avg_price' or 'price')")
    if missing or qty_col is None:
        raise DataValidationError(
            f"{name} is not a liquidation recording: missing {', '.join(missing)}. Found columns "
            f"{list(raw.columns)[:20]}. Record with `python -m liq record-liquidations`, or export the forceOrder "
            "fields symbol, side, avg_price, filled quantity and time."
        )
    return qty_col


def _symbols(raw: pd.DataFrame, name: str) -> pd.Series:
    """Upper-case symbols; each must look like a Binance contract name."""
    symbol = raw["symbol"].astype("string").str.strip().str.upper()
    if symbol.isna().any() or (symbol == "").any():
        row = int(np.flatnonzero((symbol.isna() | (symbol == "")).to_numpy())[0])
        raise DataValidationError(f"{name}: the symbol is empty on data row {row + 1}.")
    odd = ~symbol.str.fullmatch(CONTRACT_PATTERN).fillna(False).to_numpy(dtype=bool)
    if odd.any():
        row = int(np.flatnonzero(odd)[0])
        raise DataValidationError(
            f"{name}: the symbol on data row {row + 1} is not a Binance contract name (capitals and digits, "
            "such as BTCUSDT or BTCUSDT_250627). Fix or remove that row."
        )
    return symbol


def _sides(raw: pd.DataFrame, name: str) -> pd.Series:
    """Binance's order side mapped to the side that was liquidated ("long" / "short")."""
    side = raw["side"].astype("string").str.strip().str.upper().map(dict(SIDE_OF_ORDER))
    if side.isna().any():
        row = int(np.flatnonzero(side.isna().to_numpy())[0])
        raise DataValidationError(
            f"{name}: side {str(raw['side'].iloc[row])[:20]!r} on data row {row + 1} is not BUY or SELL. Binance's "
            "forceOrder side is SELL when a long was liquidated and BUY when a short was."
        )
    return side


def _prices(raw: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The fill price of each event (``ap`` when recorded, else the order price ``p``) and where ``ap`` was used."""
    avg = np.full(len(raw), np.nan)
    for col in _AVG_PRICE_COLUMNS:
        if col in raw:
            avg = _numeric(raw, col, name)
    order = np.full(len(raw), np.nan)
    for col in reversed(_ORDER_PRICE_COLUMNS):  # "price" wins over the raw fallback
        if col in raw:
            values = _numeric(raw, col, name)
            order = np.where(np.isnan(values), order, values)
    price, use_avg = fill_price(avg, order)
    if "price_kind" in raw and "avg_price" not in raw:  # our own output read back
        use_avg = (raw["price_kind"].astype("string") == "avg").fillna(False).to_numpy(dtype=bool)
    return price, use_avg


def _check_positive(price: np.ndarray, qty: np.ndarray, name: str) -> None:
    price_ok, qty_ok = sane_amounts(price, qty)
    for label, values, ok in (("price", price, price_ok), ("quantity", qty, qty_ok)):
        bad = ~ok
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataValidationError(
                f"{name}: the {label} on data row {row + 1} is missing, not positive or absurd ({values[row]:g}). "
                f"Every event needs a positive fill price (at most {MAX_PRICE:,.0f}) and filled quantity (at most "
                f"{MAX_VOLUME:g}); remove that row."
            )


def load_liquidations(path_or_buffer: PathOrBuffer) -> pd.DataFrame:
    """Read recorded Binance liquidation (forceOrder) events.

    Parameters
    ----------
    path_or_buffer : str, path, file-like or DataFrame
        A CSV (optionally ``.gz``) in one of the layouts described in the module docstring. A DataFrame is
        copied, never modified.

    Returns
    -------
    pandas.DataFrame
        One row per event, sorted by time, with columns

        - ``time``: event time, ``datetime64[ns, UTC]`` (trade time ``T`` when recorded, else event time);
        - ``symbol``: upper-case symbol, e.g. ``"BTCUSDT"``;
        - ``side``: ``"long"`` (Binance ``SELL``: a long was liquidated) or ``"short"`` (``BUY``);
        - ``price``: the average fill price ``ap`` when recorded, else the order price ``p`` (the
          bankruptcy price, a little beyond the traded price);
        - ``qty``: filled quantity in the base asset (``z``, the accumulated filled quantity);
        - ``notional_usd``: ``price × qty``;
        - ``price_kind``: ``"avg"`` when ``price`` is ``ap``, ``"order"`` when it is ``p``.

    Raises
    ------
    DataValidationError
        When a required column is missing, a value is not a number, a side is not BUY/SELL, or a price or
        quantity is not positive. The message says which row and how to fix it.

    Examples
    --------
    >>> import io
    >>> csv = "time_ms,symbol,side,avg_price,filled_qty\\n1733330785584,BTCUSDT,SELL,94809.6,0.5\\n"
    >>> df = load_liquidations(io.StringIO(csv))
    >>> df[["side", "price", "qty", "notional_usd"]].to_dict("records")
    [{'side': 'long', 'price': 94809.6, 'qty': 0.5, 'notional_usd': 47404.8}]
    >>> str(df["time"].iloc[0])
    '2024-12-04 16:46:25.584000+00:00'
    """
    raw, name = _read(path_or_buffer)
    qty_col = _check_layout(raw, name)
    if raw.empty:
        return empty_events()
    times = _times(raw, name)
    symbol = _symbols(raw, name)
    side = _sides(raw, name)
    qty = _numeric(raw, qty_col, name)
    price, use_avg = _prices(raw, name)
    _check_positive(price, qty, name)
    return events_frame(
        times, symbol.to_numpy(dtype=object), side.to_numpy(dtype=object), price, qty, use_avg
    )


def load_gaps(path_or_buffer: PathOrBuffer) -> pd.DataFrame:
    """Read the recorder's gap log (``<out>.gaps.csv``): intervals when it was *not* listening.

    Parameters
    ----------
    path_or_buffer : str, path, file-like or DataFrame
        CSV with ``start_utc, end_utc`` (ISO times, UTC) and optionally ``reason``.

    Returns
    -------
    pandas.DataFrame
        ``start, end`` (``datetime64[ns, UTC]``) and ``reason``, sorted by start. Pass it as ``gaps=`` to
        :func:`liq.recording_windows` so the model check excludes those intervals.

    Examples
    --------
    >>> import io
    >>> g = load_gaps(io.StringIO("start_utc,end_utc,reason\\n2024-12-04T17:00:00Z,2024-12-04T17:02:30Z,drop\\n"))
    >>> (g["end"] - g["start"]).iloc[0]
    Timedelta('0 days 00:02:30')
    """
    if isinstance(path_or_buffer, (str, os.PathLike)) and not Path(path_or_buffer).exists():
        return pd.DataFrame(
            {
                "start": pd.Series([], dtype="datetime64[ns, UTC]"),
                "end": pd.Series([], dtype="datetime64[ns, UTC]"),
                "reason": pd.Series([], dtype=object),
            }
        )
    raw, name = _read(path_or_buffer)
    if not {"start_utc", "end_utc"} <= set(raw.columns):
        raise DataValidationError(f"{name} is not a gap log: it needs columns start_utc and end_utc.")
    start = pd.to_datetime(raw["start_utc"].astype("string"), utc=True, errors="coerce", format="mixed")
    end = pd.to_datetime(raw["end_utc"].astype("string"), utc=True, errors="coerce", format="mixed")
    bad = start.isna() | end.isna() | (end < start)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataValidationError(f"{name}: gap on data row {row + 1} has a missing or reversed start/end.")
    reason = raw["reason"].astype(object) if "reason" in raw else pd.Series([""] * len(raw), dtype=object)
    out = pd.DataFrame(
        {
            "start": start.astype("datetime64[ns, UTC]").to_numpy(),
            "end": end.astype("datetime64[ns, UTC]").to_numpy(),
            "reason": reason.to_numpy(),
        }
    )
    out["start"] = pd.to_datetime(out["start"], utc=True)
    out["end"] = pd.to_datetime(out["end"], utc=True)
    return out.sort_values("start", kind="stable").reset_index(drop=True)
