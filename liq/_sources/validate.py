"""Validation of the engine's inputs, done once at the boundary with fix-it messages.

The functions here return *new* frames; the caller's frame is never modified.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timezone

import numpy as np
import pandas as pd

from .._errors import DataValidationError
from ._common import (
    EARLIEST_TIME,
    LATEST_TIME,
    MAX_OPEN_INTEREST_USD,
    MAX_PRICE,
    MAX_VOLUME,
    MIN_CANDLES,
    OPTIONAL_CANDLE_COLUMNS,
    REQUIRED_CANDLE_COLUMNS,
)

__all__ = [
    "check_candle_values",
    "check_time_order",
    "validate_candles",
    "validate_open_interest",
]


def _row_label(frame: pd.DataFrame, pos: int) -> str:
    """Human row reference: 0-based position plus the open time when available."""
    if "open_time" in frame.columns:
        return f"row {pos} (open_time {frame['open_time'].iloc[pos]})"
    return f"row {pos}"


def _utc_in_range(values: pd.Series) -> bool:
    """Whether ``values`` are already UTC times (any unit) with no empty time and none out of range: checked
    on their integer ticks in two reductions (NaT is the lowest int64), with no conversion."""
    dtype = values.dtype
    if not (isinstance(dtype, pd.DatetimeTZDtype) and dtype.tz is timezone.utc):
        return False
    ticks = values.array.asi8
    ns_per_tick = int(np.timedelta64(1, dtype.unit) // np.timedelta64(1, "ns"))
    first, last = EARLIEST_TIME.value // ns_per_tick, LATEST_TIME.value // ns_per_tick  # whole days: exact
    return not len(ticks) or (int(ticks.min()) >= first and int(ticks.max()) <= last)


def _to_utc(values: pd.Series, column: str) -> pd.Series:
    """Parse a time column to tz-aware UTC, with a fix-it message when it can't be."""
    if _utc_in_range(values):  # the common case: at most a change of unit
        return values.astype("datetime64[ns, UTC]")
    if pd.api.types.is_datetime64_any_dtype(values):
        ts = pd.Series(values)
    elif pd.api.types.is_numeric_dtype(values):
        raise DataValidationError(
            f"'{column}' holds numbers; convert epoch milliseconds first, e.g. "
            f"pd.to_datetime(df['{column}'], unit='ms', utc=True)."
        )
    else:
        ts = pd.Series(pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce"))
        unread = (ts.isna() & values.notna()).to_numpy()
        if unread.any():
            i = int(np.argmax(unread))
            raise DataValidationError(
                f"'{column}' at row {i} is {str(values.iloc[i])[:40]!r}, which is not a date. Use ISO times such "
                "as 2024-12-01T00:00:00Z."
            )
    if ts.dt.tz is None:
        ts = ts.dt.tz_localize("UTC")
    else:
        ts = ts.dt.tz_convert("UTC")
    nat = ts.isna().to_numpy()
    if nat.any():
        raise DataValidationError(
            f"'{column}' is empty at row {int(np.argmax(nat))}; every row needs a time."
        )
    # checked before the conversion to nanoseconds, which ends in 2262; the row is only looked for when the
    # range is out of bounds
    if ts.min() < EARLIEST_TIME or ts.max() > LATEST_TIME:
        outside = ((ts < EARLIEST_TIME) | (ts > LATEST_TIME)).to_numpy()
        i = int(np.argmax(outside))
        raise DataValidationError(
            f"'{column}' at row {i} is {ts.iloc[i]}, outside {EARLIEST_TIME:%Y-%m-%d} to {LATEST_TIME:%Y-%m-%d}. "
            "Check the dates (and that epoch numbers were converted with the right unit)."
        )
    return ts.astype("datetime64[ns, UTC]")


def _shown(value: object) -> str:
    """A cell as a user would write it (no numpy type names)."""
    return f"{value:g}" if isinstance(value, (float, np.floating)) else repr(value)[:40]


def check_time_order(
    ns: np.ndarray, column: str, label: Callable[[int], str], prefix: str, *, fix_repeat: str, fix_order: str
) -> None:
    """Times (int64 ns) must rise strictly; shared by the engine's boundary and the upload parser.

    ``label(i)`` names row ``i`` for the user ("row 3", "line 5"); ``prefix`` starts the message.
    """
    d = np.diff(ns)
    if not len(d) or d.min() > 0:  # rising everywhere (one reduction): nothing to name
        return
    if (d == 0).any():
        i = int(np.argmax(d == 0)) + 1
        raise DataValidationError(
            f"{prefix} duplicate {column}: {label(i)} repeats the time of {label(i - 1)} "
            f"({pd.Timestamp(int(ns[i]), tz='UTC')}). {fix_repeat}"
        )
    if (d < 0).any():
        i = int(np.argmax(d < 0)) + 1
        raise DataValidationError(
            f"{prefix} not sorted: {column} at {label(i)} ({pd.Timestamp(int(ns[i]), tz='UTC')}) is earlier than "
            f"at {label(i - 1)}. {fix_order}"
        )


def _check_sorted_unique(times: pd.Series, column: str, what: str) -> None:
    check_time_order(
        times.to_numpy(dtype="datetime64[ns]").astype(np.int64),
        column,
        lambda i: f"row {i}",
        f"{what}:",
        fix_repeat=f"Drop duplicates, e.g. df.drop_duplicates('{column}').",
        fix_order=f"Sort it first, e.g. df.sort_values('{column}').",
    )


def _check_bounded(
    cols: Mapping[str, np.ndarray],
    columns: tuple[str, ...],
    limit: float,
    where: Callable[[int], str],
    prefix: str,
) -> None:
    """Volumes (NaN allowed in optional columns) must be finite and at most ``limit``."""
    for col in columns:
        if col not in cols:
            continue
        arr = cols[col]
        bad = np.isinf(arr) | (arr > limit)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataValidationError(
                f"{prefix} '{col}' is {arr[i]:g} {where(i)}; a volume must be a finite number no higher than "
                f"{limit:g}."
            )


def check_candle_values(frame: pd.DataFrame, where: Callable[[int], str], prefix: str) -> None:
    """Price and volume sanity of a parsed candle frame (float columns), shared by the engine and uploads.

    ``where(i)`` names row ``i`` for the user ("at row 3 (open_time …)", "at line 5"); ``prefix`` starts
    each message ("candles:", "The candles file:").
    """
    names = REQUIRED_CANDLE_COLUMNS[1:] + OPTIONAL_CANDLE_COLUMNS
    _check_values({k: frame[k].to_numpy() for k in names if k in frame.columns}, where, prefix)


def _check_values(cols: Mapping[str, np.ndarray], where: Callable[[int], str], prefix: str) -> None:
    """:func:`check_candle_values` on the frame's float columns by name (the required ones and any optional)."""
    o, h, lo, c, v = (cols[k] for k in ("open", "high", "low", "close", "volume"))
    for name, arr in (("open", o), ("high", h), ("low", lo), ("close", c)):
        if arr.size and arr.min() > 0 and arr.max() <= MAX_PRICE:
            continue  # all positive and at most MAX_PRICE (a NaN fails both comparisons): nothing to name
        bad = arr <= 0
        if bad.any():
            i = int(np.argmax(bad))
            raise DataValidationError(f"{prefix} '{name}' must be above zero; it is {arr[i]:g} {where(i)}.")
        bad = ~np.isfinite(arr) | (arr > MAX_PRICE)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataValidationError(
                f"{prefix} '{name}' is {arr[i]:g} {where(i)}; a price must be a finite number no higher than "
                f"{MAX_PRICE:,.0f}. Check the column order and that prices are not scaled."
            )
    _check_bounded(cols, ("volume", *OPTIONAL_CANDLE_COLUMNS), MAX_VOLUME, where, prefix)
    checks = (
        (h < lo, "high is below low", "Check the column order (open, high, low, close)."),
        (h < np.maximum(o, c), "high is below open or close", "high must be the candle's highest price."),
        (lo > np.minimum(o, c), "low is above open or close", "low must be the candle's lowest price."),
        (v < 0, "'volume' is negative", "Volumes are zero or positive."),
    )
    for mask, problem, fix in checks:
        if mask.any():
            i = int(np.argmax(mask))
            raise DataValidationError(f"{prefix} {problem} {where(i)}. {fix}")
    for col in OPTIONAL_CANDLE_COLUMNS:
        if col in cols:
            arr = cols[col]
            bad = np.isfinite(arr) & (arr < 0)
            if bad.any():
                i = int(np.argmax(bad))
                raise DataValidationError(f"{prefix} '{col}' is negative {where(i)}.")
    if "taker_buy_volume" in cols:
        tb = cols["taker_buy_volume"]
        bad = np.isfinite(tb) & (tb > v * (1 + 1e-9) + 1e-12)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataValidationError(
                f"{prefix} 'taker_buy_volume' is larger than 'volume' {where(i)}; it is a part of the volume. "
                "Check the column order."
            )


def validate_candles(candles: pd.DataFrame, *, min_candles: int = MIN_CANDLES) -> pd.DataFrame:
    """Check a candle frame and return a clean copy with UTC times and float64 prices.

    Parameters
    ----------
    candles : DataFrame
        ``open_time`` (UTC datetimes), ``open, high, low, close, volume``; optionally ``quote_volume`` and
        ``taker_buy_volume``.
    min_candles : int
        Fewest rows accepted.

    Returns
    -------
    DataFrame
        A new frame (RangeIndex) with the required columns and whichever optional columns were present.

    Raises
    ------
    DataValidationError
        With a message that names the column and row, and says how to fix it.

    Examples
    --------
    >>> df = pd.DataFrame({"open_time": pd.date_range("2024-12-01", periods=10, freq="5min", tz="UTC"),
    ...                    "open": 100.0, "high": 101.0, "low": 99.0, "close": 100.5, "volume": 3.0})
    >>> validate_candles(df).shape
    (10, 6)
    >>> validate_candles(df.assign(low=102.0))
    Traceback (most recent call last):
    ...
    liq._errors.DataValidationError: candles: high is below low at row 0 (open_time 2024-12-01 00:00:00+00:00). Check the column order (open, high, low, close).
    """
    if not isinstance(candles, pd.DataFrame):
        raise DataValidationError(f"candles must be a pandas DataFrame, not {type(candles).__name__}.")
    missing = [c for c in REQUIRED_CANDLE_COLUMNS if c not in candles.columns]
    if missing:
        raise DataValidationError(
            f"candles is missing column(s) {', '.join(missing)}; it needs {', '.join(REQUIRED_CANDLE_COLUMNS)}."
        )
    if len(candles) < min_candles:
        raise DataValidationError(
            f"Only {len(candles)} candle(s); the estimate needs at least {min_candles}. Choose a longer range "
            "or a shorter interval."
        )
    cols = list(REQUIRED_CANDLE_COLUMNS) + [c for c in OPTIONAL_CANDLE_COLUMNS if c in candles.columns]
    times = _to_utc(candles["open_time"].reset_index(drop=True), "open_time")

    def where(i: int) -> str:  # a row named for a message (its frame made only then)
        return _row_label(pd.DataFrame({"open_time": times}), i)

    # (the float columns keep the caller's index: they are read by position only)
    arrays = {col: _float_column(candles[col], col, where) for col in cols[1:]}
    for col, arr in arrays.items():
        # NaN in optional columns means "unknown" and falls back per candle; the minimum is NaN when any is
        if col in OPTIONAL_CANDLE_COLUMNS or not np.isnan(arr.min(initial=np.inf)):
            continue
        i = int(np.argmax(np.isnan(arr)))
        raise DataValidationError(
            f"candles: '{col}' is missing (NaN) at {where(i)}. Fill or drop that candle."
        )
    # built at once (inserting the columns one by one costs more than the checks), from arrays it owns
    out = pd.DataFrame({"open_time": times, **arrays}, copy=False)
    _check_values(arrays, lambda i: f"at {_row_label(out, i)}", "candles:")
    _check_sorted_unique(out["open_time"], "open_time", "candles")
    return out


def _float_column(raw: pd.Series, col: str, where: Callable[[int], str]) -> np.ndarray:
    """A candle column as a new float64 array, with a fix-it message naming the first cell that is not a number."""
    if raw.dtype == np.float64:
        return raw.to_numpy(copy=True)
    num = pd.to_numeric(raw, errors="coerce")
    bad = (num.isna() & raw.notna()).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise DataValidationError(f"candles: '{col}' is not a number at {where(i)}: {raw.iloc[i]!r}.")
    return num.astype(np.float64).to_numpy()


def validate_open_interest(open_interest: pd.DataFrame) -> pd.DataFrame:
    """Check an open-interest frame (``time``, ``open_interest_usd``) and return a clean copy.

    Examples
    --------
    >>> oi = pd.DataFrame({"time": pd.date_range("2024-12-01", periods=3, freq="5min", tz="UTC"),
    ...                    "open_interest_usd": [1e9, 1.01e9, 1.0e9]})
    >>> validate_open_interest(oi)["open_interest_usd"].tolist()
    [1000000000.0, 1010000000.0, 1000000000.0]
    """
    if not isinstance(open_interest, pd.DataFrame):
        raise DataValidationError(
            f"open_interest must be a pandas DataFrame, not {type(open_interest).__name__}."
        )
    missing = [c for c in ("time", "open_interest_usd") if c not in open_interest.columns]
    if missing:
        raise DataValidationError(
            f"open_interest is missing column(s) {', '.join(missing)}; it needs time and open_interest_usd."
        )
    if len(open_interest) < 2:
        raise DataValidationError("open_interest needs at least 2 rows to measure changes.")
    out = pd.DataFrame({"time": _to_utc(open_interest["time"].reset_index(drop=True), "time")})
    raw = open_interest["open_interest_usd"].reset_index(drop=True)
    num = pd.to_numeric(raw, errors="coerce")
    values = num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(values) | (values < 0) | (values > MAX_OPEN_INTEREST_USD)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataValidationError(
            f"open_interest: 'open_interest_usd' must be a number from 0 to {MAX_OPEN_INTEREST_USD:g} (USD); row "
            f"{i} has {_shown(raw.iloc[i])}."
        )
    out["open_interest_usd"] = num.astype(np.float64)
    _check_sorted_unique(out["time"], "time", "open_interest")
    return out
