"""The one place that turns prices, USD amounts, percentages and levels into text.

The app's header and tables, the chart's labels (the browser shows the text computed here), the CSV export
and the command line all call these functions, so one level reads the same everywhere.

Rules
-----
* **Prices** get a number of decimals that follows the size of the coin's price (:func:`price_decimals`):
  2 from 100 up, 4 from 1 up, 6 below. Every price of one estimate uses the decimals of its last price, so a
  level and its zone edges line up. Thousands are separated with commas.
* **USD** amounts are compact with a capital unit: ``$950``, ``$1.5K``, ``$2.5M``, ``$124M``, ``$1.2B``.
  One decimal below 100 units, none from 100 up.
* **Percentages** are signed, with two decimals: ``+1.25 %``.
* A missing or non-finite number reads ``–``.

>>> format_level_label("long", 94_812.34, 12.4e6)
'L 94,812.34 · $12.4M'
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime

import numpy as np
import numpy.typing as npt

from ._errors import DataValidationError

__all__ = [
    "MISSING",
    "format_date_span",
    "format_level_label",
    "format_level_short",
    "format_pct",
    "format_price",
    "format_usd",
    "format_usd_many",
    "price_decimals",
    "price_printf",
    "round_price",
]

#: What a missing or non-finite number reads.
MISSING = "–"

#: (lowest price, decimals), largest first: the decimals of prices from that size up.
_PRICE_DECIMALS: tuple[tuple[float, int], ...] = ((100.0, 2), (1.0, 4), (0.0, 6))
#: (size, unit) of the compact USD style, largest first.
_USD_UNITS: tuple[tuple[float, str], ...] = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K"))
#: A unit is used from this share of its size up: 999,600 reads $1.0M, not $999.6K.
_USD_UNIT_FROM = 0.9995


def _finite(x: object) -> float | None:
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def price_decimals(price: float) -> int:
    """Decimals for prices of this size: 2 from 100 up, 4 from 1 up, 6 below (2 when not a number).

    >>> [price_decimals(p) for p in (94_812.3, 245.3, 3.41, 0.2345, float("nan"))]
    [2, 2, 4, 6, 2]
    """
    p = _finite(price)
    if p is None:
        return 2
    size = abs(p)
    return next(d for lowest, d in _PRICE_DECIMALS if size >= lowest)


def round_price(price: float, decimals: int) -> float:
    """``price`` rounded to ``decimals`` (the number a label shows, for exports and chart lines)."""
    return round(float(price), int(decimals))


def format_price(price: float | None, decimals: int | None = None) -> str:
    """A price with thousands separators and ``decimals`` (default: from the price's own size).

    >>> format_price(94_812.345), format_price(3_412.5), format_price(0.23456789), format_price(None)
    ('94,812.35', '3,412.50', '0.234568', '–')
    """
    p = _finite(price)
    if p is None:
        return MISSING
    d = price_decimals(p) if decimals is None else int(decimals)
    return f"{p:,.{d}f}"


def price_printf(price: float) -> str:
    """printf format (for table columns) that writes prices like :func:`format_price` for this price size.

    >>> price_printf(94_812.3), price_printf(0.5)
    ('%,.2f', '%,.6f')
    """
    return f"%,.{price_decimals(price)}f"


def format_usd(usd: float | None) -> str:
    """Compact USD: one decimal below 100 units, none from 100 up.

    >>> [format_usd(x) for x in (950, 1_500, 12_449_999, 124_000_000, 1.2e9, -2_500_000)]
    ['$950', '$1.5K', '$12.4M', '$124M', '$1.2B', '-$2.5M']
    >>> format_usd(999_600), format_usd(float("inf"))
    ('$1.0M', '–')
    """
    x = _finite(usd)
    if x is None:
        return MISSING
    size = abs(x)
    for unit_size, unit in _USD_UNITS:
        if size >= unit_size * _USD_UNIT_FROM:
            v = size / unit_size
            return _usd_text(x, v, unit, round(v, 1) >= 100)
    return _usd_text(x, size, "", True)


def _usd_text(x: float, v: float, unit: str, whole: bool) -> str:
    """The text of ``x`` (for its sign) written as ``v`` ``unit``: no decimal when ``whole``, else one."""
    sign = "-" if x < 0 else ""
    return f"{sign}${v:,.0f}{unit}" if whole else f"{sign}${v:.1f}{unit}"


def format_usd_many(values: Iterable[float] | npt.ArrayLike) -> npt.NDArray[np.object_]:
    """:func:`format_usd` of every value, as an array of text: the same strings, made without a Python call
    per value (a still heatmap labels ~30,000 cells).

    >>> format_usd_many([950, 1_500, 999_600, 99_960, -2.5e6, float("nan")]).tolist()
    ['$950', '$1.5K', '$1.0M', '$100K', '-$2.5M', '–']
    """
    all_x = np.asarray(values, dtype=np.float64).ravel()
    out = np.full(all_x.shape, MISSING, dtype=object)
    ok = np.flatnonzero(np.isfinite(all_x))
    x = all_x[ok]
    size = np.abs(x)
    sizes = np.array([u for u, _ in _USD_UNITS] + [1.0])
    # the first (largest) unit whose threshold the size reaches; len(_USD_UNITS) means none
    reached = size[:, None] >= sizes[None, :-1] * _USD_UNIT_FROM
    unit = np.where(reached.any(axis=1), reached.argmax(axis=1), len(_USD_UNITS))
    v = size / sizes[unit]
    wide = v >= 100.0  # "round(v, 1) >= 100": decided exactly, by Python, just under 100
    near = np.flatnonzero((v > 99.9) & (v < 100.0))
    wide[near] = [round(float(val), 1) >= 100 for val in v[near]]
    names = [u for _, u in _USD_UNITS] + [""]
    whole = wide | (unit == len(_USD_UNITS))  # written without a decimal
    # The number as it will be written, as an integer (tenths unless whole). A value whose scaled float lies
    # (next to) exactly half-way, or is too large for an exact key, is written on its own; every other value
    # rounds the same either way, so values with one key share one text, and each key is written once.
    scaled = np.where(whole, v, v * 10.0)
    digits = np.rint(scaled)
    alone = (np.abs(scaled - np.floor(scaled) - 0.5) < 1e-9) | (digits > 1e12)
    key = ((digits * (len(names) + 1) + unit) * 2 + whole) * 2 + (x < 0)
    key[alone] = -1.0 - np.flatnonzero(alone)
    _, first, where = np.unique(key, return_index=True, return_inverse=True)
    # (plain Python numbers for the texts: indexing numpy arrays one value at a time costs more than writing them)
    texts = [
        _usd_text(xi, vi, names[ui], wi)
        for xi, vi, ui, wi in zip(
            x[first].tolist(), v[first].tolist(), unit[first].tolist(), whole[first].tolist(), strict=True
        )
    ]
    out[ok] = np.array(texts, dtype=object)[where.ravel()]
    return out


def format_pct(pct: float | None, decimals: int = 2) -> str:
    """A signed percentage: ``+1.25 %``.

    >>> format_pct(1.254), format_pct(-0.5), format_pct(None)
    ('+1.25 %', '-0.50 %', '–')
    """
    x = _finite(pct)
    if x is None:
        return MISSING
    return f"{x:+.{int(decimals)}f} %"


def format_date_span(first: str | datetime, last: str | datetime) -> str:
    """The days from ``first`` to ``last`` (UTC), as short as is clear: ``16–22 Oct 2025``.

    >>> format_date_span("2025-10-16 04:00", "2025-10-22 23:55")
    '16–22 Oct 2025'
    >>> format_date_span("2025-09-28", "2025-10-04"), format_date_span("2024-12-28", "2025-01-04")
    ('28 Sep – 4 Oct 2025', '28 Dec 2024 – 4 Jan 2025')
    >>> format_date_span("2025-10-22 01:00", "2025-10-22 13:00")
    '22 Oct 2025'
    """
    import pandas as pd  # only here: the rest of this module is plain Python

    a, b = (pd.to_datetime(t, utc=True) for t in (first, last))
    if pd.isna(a) or pd.isna(b):
        return MISSING
    if (a.year, a.month, a.day) == (b.year, b.month, b.day):
        return f"{b.day} {b:%b %Y}"
    if (a.year, a.month) == (b.year, b.month):
        return f"{a.day}–{b.day} {b:%b %Y}"
    if a.year == b.year:
        return f"{a.day} {a:%b} – {b.day} {b:%b %Y}"
    return f"{a.day} {a:%b %Y} – {b.day} {b:%b %Y}"


def format_level_short(side: str, notional_usd: float) -> str:
    """A level's label where space is short (a phone): side letter and estimated USD; the axis shows the price.

    >>> format_level_short("long", 779_000)
    'L $779K'
    """
    return f"{'L' if str(side).lower() == 'long' else 'S'} {format_usd(notional_usd)}"


def format_level_label(side: str, price: float, notional_usd: float, decimals: int | None = None) -> str:
    """The label of a level: side letter (L or S), price, estimated USD.

    Raises :class:`~liq.DataValidationError` for a side other than ``"long"`` or ``"short"``.

    >>> format_level_label("short", 101_220, 8.1e6)
    'S 101,220.00 · $8.1M'
    """
    s = str(side).lower()
    if s not in ("long", "short"):
        raise DataValidationError(f"A level's side is 'long' or 'short', not {str(side)[:20]!r}.")
    letter = "L" if s == "long" else "S"
    return f"{letter} {format_price(price, decimals)} · {format_usd(notional_usd)}"
