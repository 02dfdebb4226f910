"""Binance's leverage and maintenance-margin brackets for every USDⓈ-M USDT perpetual.

The table ships inside the package as ``liq/data/binance_usdm_leverage_brackets.json.gz`` (Binance's
``GET /fapi/v1/leverageBracket`` answer, reduced to USDT-margined perpetuals; see ``liq/data/PROVENANCE.md``
and ``scripts/refresh_brackets.py``). Its layout::

    {"source": "...", "as_of": "YYYY-MM-DD",
     "columns": ["notional_floor_usd", "notional_cap_usd", "maint_margin_ratio", "max_leverage", "cum_usd"],
     "symbols": {"BTCUSDT": [[0, 50000, 0.004, 125, 0], ...], ...}}

Every table is checked when it is read (:func:`load_brackets`): brackets start at 0 USD, are sorted and
contiguous, ``0 <= mmr < 1``, ``max_leverage >= 1`` and the maintenance amount ("cum") follows Binance's
rule ``cum_n = cum_{n-1} + floor_n × (mmr_n − mmr_{n-1})``.

Loading the shipped table takes a few milliseconds, so :data:`BRACKETS_AS_OF`, :data:`BRACKETS_SOURCE` and
:data:`FALLBACK_BRACKETS` are plain module constants (read once, through a cached loader).
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import math
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from ._errors import DataValidationError

__all__ = [
    "BRACKETS_AS_OF",
    "BRACKETS_SOURCE",
    "BRACKET_COLUMNS",
    "BRACKET_FILE",
    "FALLBACK_BRACKETS",
    "BracketTable",
    "MmrBracket",
    "SymbolBrackets",
    "bracket_symbols",
    "bracket_table",
    "brackets_for",
    "load_brackets",
]

logger = logging.getLogger(__name__)

#: File name of the shipped table inside ``liq/data``.
BRACKET_FILE = "binance_usdm_leverage_brackets.json.gz"

#: Column order of every bracket row in the file.
BRACKET_COLUMNS: tuple[str, ...] = (
    "notional_floor_usd",
    "notional_cap_usd",
    "maint_margin_ratio",
    "max_leverage",
    "cum_usd",
)

_CUM_ABS_TOL_USD = 0.01  # Binance publishes cum with cent precision at most
_CUM_REL_TOL = 1e-9
_MAX_REPORTED = 5  # problems listed in one error message


@dataclass(frozen=True)
class MmrBracket:
    """One notional bracket of a symbol's Binance leverage table.

    A position whose notional lies in ``(notional_floor_usd, notional_cap_usd]`` (the first bracket also takes
    0) pays maintenance margin ``notional × mmr − maint_amount_usd`` and may be opened with at most
    ``max_leverage``. ``maint_amount_usd`` ("cum") keeps the maintenance margin continuous across brackets:
    ``cum_n = cum_{n-1} + floor_n × (mmr_n − mmr_{n-1})``.

    Examples
    --------
    >>> b = MmrBracket(0.0, 50_000.0, 0.004, 125.0, 0.0)
    >>> b.mmr < 1 / b.max_leverage
    True
    """

    notional_floor_usd: float
    notional_cap_usd: float
    mmr: float
    max_leverage: float
    maint_amount_usd: float


@dataclass(frozen=True)
class BracketTable:
    """A checked bracket file: where it came from and every symbol's brackets.

    Attributes
    ----------
    source : str
        Where the table came from (endpoint and snapshot).
    as_of : str
        Date of the snapshot, ``YYYY-MM-DD``.
    columns : tuple of str
        Column order of the rows in the file (:data:`BRACKET_COLUMNS`).
    symbols : Mapping[str, tuple[MmrBracket, ...]]
        Read-only mapping of upper-case symbol to its brackets, lowest notional first.
    """

    source: str
    as_of: str
    columns: tuple[str, ...]
    symbols: Mapping[str, tuple[MmrBracket, ...]]


def _safe_leverage(mmr: float) -> float:
    """The largest whole leverage ``L`` with ``mmr < 1 / L`` (infinite when ``mmr`` is 0)."""
    if mmr <= 0:
        return math.inf
    return float(math.floor(math.nextafter(1.0 / mmr, 0.0)))


@dataclass(frozen=True)
class SymbolBrackets:
    """The brackets used for one symbol, and whether they are Binance's own or the fallback.

    Attributes
    ----------
    symbol : str
        Upper-case symbol as asked for (``""`` when no symbol was given).
    brackets : tuple of MmrBracket
        Brackets, lowest notional first.
    fallback : bool
        True when the symbol is not in the table and :data:`FALLBACK_BRACKETS` stands in.
    note : str or None
        Plain words for a trader when the fallback was used, else None.
    """

    symbol: str
    brackets: tuple[MmrBracket, ...]
    fallback: bool
    note: str | None

    def bracket_index(self, notional_usd: npt.ArrayLike) -> Any:
        """Index of the bracket each position notional falls in (vectorised).

        Parameters
        ----------
        notional_usd : float or array_like
            Position notional in USD, ``>= 0``. Notional above the last cap stays in the last bracket.

        Returns
        -------
        int or ndarray of int
            Bracket index, an ``int`` for a scalar input.

        Raises
        ------
        DataValidationError
            On a negative or non-finite notional.

        Examples
        --------
        >>> btc = brackets_for("BTCUSDT")
        >>> btc.bracket_index([0, 50_000, 50_001]).tolist()
        [0, 0, 1]
        """
        n = np.asarray(notional_usd, dtype=np.float64)
        if np.any(~np.isfinite(n)) or np.any(n < 0):
            raise DataValidationError("Position notional must be a finite USD amount of 0 or more.")
        caps = np.array([b.notional_cap_usd for b in self.brackets])
        idx = np.minimum(np.searchsorted(caps, n, side="left"), len(caps) - 1)
        return int(idx) if idx.ndim == 0 else idx

    def bracket_at(self, notional_usd: float) -> MmrBracket:
        """The bracket a position of ``notional_usd`` falls in.

        Parameters
        ----------
        notional_usd : float
            Position notional in USD, ``>= 0``.

        Returns
        -------
        MmrBracket
            The bracket whose ``(floor, cap]`` holds the notional (the last one above every cap).

        Examples
        --------
        >>> btc = brackets_for("BTCUSDT")
        >>> btc.bracket_at(10_000).mmr, btc.bracket_at(100_000).maint_amount_usd
        (0.004, 50.0)
        """
        return self.brackets[int(self.bracket_index(notional_usd))]

    def max_leverage(self, notional_usd: float) -> float:
        """The highest leverage Binance allows for a position of ``notional_usd``, kept valid.

        Binance's ``max_leverage`` of the bracket, lowered if needed to the largest whole leverage at which
        ``mmr < 1 / leverage`` (so that a position at that leverage liquidates on the right side of entry).
        Every row of the 2024-10-24 table already satisfies this, so there it is Binance's value unchanged.
        ``notional_usd`` is read as in :meth:`bracket_at`; the result is a leverage (``x``).

        Examples
        --------
        >>> btc = brackets_for("BTCUSDT")
        >>> btc.max_leverage(10_000), btc.max_leverage(100_000)
        (125.0, 100.0)
        """
        b = self.bracket_at(notional_usd)
        return min(b.max_leverage, _safe_leverage(b.mmr))


def _read_bytes(path: str | Path | None) -> tuple[bytes, str]:
    """Raw bytes of the bracket file and a name for messages."""
    if path is None:
        ref = resources.files("liq").joinpath("data").joinpath(BRACKET_FILE)
        return ref.read_bytes(), f"liq/data/{BRACKET_FILE}"
    try:
        return Path(path).read_bytes(), str(path)
    except OSError as err:
        raise DataValidationError(
            f"Could not read the bracket table {path} ({err.strerror or err}). Check the path."
        ) from err


def _parse_json(raw: bytes, name: str) -> Any:
    """Decode a gzip-compressed (or plain) JSON document, with a clear message if it is not one."""
    try:
        text = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
        return json.loads(text)
    except (OSError, EOFError, zlib.error, UnicodeDecodeError, ValueError) as err:
        raise DataValidationError(
            f"The bracket table {name} is not valid (gzip-compressed) JSON: {err}. "
            "Restore it from the repository or rebuild it with scripts/refresh_brackets.py."
        ) from err


def _header(doc: Any, name: str) -> tuple[str, str, dict[str, Any]]:
    """Check the top-level layout; return ``(source, as_of, symbols)``."""
    if not isinstance(doc, dict):
        raise DataValidationError(f"The bracket table {name} must be a JSON object; it is not.")
    missing = [k for k in ("source", "as_of", "columns", "symbols") if k not in doc]
    if missing:
        raise DataValidationError(f"The bracket table {name} lacks the field(s) {', '.join(missing)}.")
    if tuple(doc["columns"]) != BRACKET_COLUMNS:
        raise DataValidationError(
            f"The bracket table {name} has columns {doc['columns']}; expected {list(BRACKET_COLUMNS)}."
        )
    symbols = doc["symbols"]
    if not isinstance(symbols, dict) or not symbols:
        raise DataValidationError(f"The bracket table {name} lists no symbols.")
    return str(doc["source"]), str(doc["as_of"]), symbols


def _block(symbol: str, rows: Any, name: str) -> npt.NDArray[np.float64]:
    """One symbol's rows as an ``(n, 5)`` float array, with a clear message if they are not that shape."""
    try:
        block = np.asarray(rows, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataValidationError(
            f"The bracket table {name} has a row for {symbol} that is not {len(BRACKET_COLUMNS)} numbers ({err})."
        ) from err
    if block.ndim != 2 or block.shape[0] == 0 or block.shape[1] != len(BRACKET_COLUMNS):
        raise DataValidationError(
            f"The bracket table {name} has no brackets for {symbol}, or a row that is not "
            f"{len(BRACKET_COLUMNS)} numbers ({', '.join(BRACKET_COLUMNS)})."
        )
    return block


def _stack(
    symbols: dict[str, Any], name: str
) -> tuple[list[str], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """All rows of all symbols as one ``(N, 5)`` float array, plus each row's symbol number."""
    names = [str(s).upper() for s in symbols]
    blocks = [_block(s, rows, name) for s, rows in zip(names, symbols.values(), strict=True)]
    owner = np.repeat(np.arange(len(blocks)), [len(b) for b in blocks])
    return names, owner, np.concatenate(blocks)


def _row_problems(
    owner: npt.NDArray[np.int64], rows: npt.NDArray[np.float64]
) -> dict[str, npt.NDArray[np.bool_]]:
    """Boolean mask per named problem, one entry per row (vectorised over the whole table)."""
    floor, cap, mmr, lev, cum = rows.T
    first = np.r_[True, owner[1:] != owner[:-1]]
    prev_cap = np.r_[0.0, cap[:-1]]
    prev_mmr = np.r_[mmr[0], mmr[:-1]]
    prev_cum = np.r_[0.0, cum[:-1]]
    want_cum = np.where(first, 0.0, prev_cum + floor * (mmr - prev_mmr))
    with np.errstate(invalid="ignore"):
        return {
            "a number is missing or not finite": ~np.all(np.isfinite(rows), axis=1),
            "the first bracket must start at 0 USD": first & (floor != 0),
            "brackets must be sorted and contiguous (floor = previous cap)": ~first & (floor != prev_cap),
            "the cap must be above the floor": ~(cap > floor),
            "the maintenance rate must be in [0, 1)": ~((mmr >= 0) & (mmr < 1)),
            "the maximum leverage must be at least 1": ~(lev >= 1),
            "cum must equal the previous cum + floor x (mmr - previous mmr)": ~np.isclose(
                cum, want_cum, rtol=_CUM_REL_TOL, atol=_CUM_ABS_TOL_USD
            ),
        }


def _check_rows(
    names: list[str], owner: npt.NDArray[np.int64], rows: npt.NDArray[np.float64], name: str
) -> None:
    """Raise one message listing every symbol whose brackets break a rule."""
    found: list[str] = []
    for problem, mask in _row_problems(owner, rows).items():
        bad = sorted({names[i] for i in owner[mask]})
        if bad:
            more = f" and {len(bad) - _MAX_REPORTED} more" if len(bad) > _MAX_REPORTED else ""
            found.append(f"{problem}: {', '.join(bad[:_MAX_REPORTED])}{more}")
    if found:
        raise DataValidationError(
            f"The bracket table {name} is inconsistent ({'; '.join(found)}). Restore it from the "
            "repository or rebuild it with scripts/refresh_brackets.py."
        )


def _as_brackets(block: npt.NDArray[np.float64]) -> tuple[MmrBracket, ...]:
    """Rows of one symbol as :class:`MmrBracket` objects."""
    return tuple(MmrBracket(f, c, m, lev, cum) for f, c, m, lev, cum in block.tolist())


def load_brackets(path: str | Path | None = None) -> BracketTable:
    """Read and check a bracket table file.

    Parameters
    ----------
    path : str or Path, optional
        A bracket file (gzip-compressed or plain JSON, layout in the module docstring). None reads the table
        shipped in ``liq/data``; the shipped table is also cached (see :func:`bracket_table`).

    Returns
    -------
    BracketTable
        The checked table.

    Raises
    ------
    DataValidationError
        If the file cannot be read, is not JSON of the expected layout, or breaks a bracket rule; the
        message names the rule and the symbols that break it.

    Examples
    --------
    >>> table = load_brackets()
    >>> table.as_of, len(table.symbols) > 300
    ('2024-10-24', True)
    """
    raw, name = _read_bytes(path)
    source, as_of, symbols = _header(_parse_json(raw, name), name)
    names, owner, rows = _stack(symbols, name)
    _check_rows(names, owner, rows, name)
    starts = np.searchsorted(owner, np.arange(len(names) + 1))
    table = {s: _as_brackets(rows[starts[i] : starts[i + 1]]) for i, s in enumerate(names)}
    return BracketTable(source, as_of, BRACKET_COLUMNS, MappingProxyType(table))


@functools.lru_cache(maxsize=1)
def _shipped() -> BracketTable:
    """The shipped table, read once."""
    return load_brackets(None)


def bracket_table() -> Mapping[str, tuple[MmrBracket, ...]]:
    """Every symbol of the shipped table and its brackets (read-only).

    Returns
    -------
    Mapping[str, tuple[MmrBracket, ...]]
        Upper-case symbol to brackets, lowest notional first.

    Examples
    --------
    >>> bracket_table()["ETHUSDT"][0].max_leverage
    125.0
    """
    return _shipped().symbols


def bracket_symbols() -> tuple[str, ...]:
    """Every symbol of the shipped table, sorted.

    Returns
    -------
    tuple of str

    Examples
    --------
    >>> "BTCUSDT" in bracket_symbols(), len(bracket_symbols())
    (True, 318)
    """
    return tuple(sorted(_shipped().symbols))


def _most_common_schedule(table: Mapping[str, tuple[MmrBracket, ...]]) -> tuple[tuple[MmrBracket, ...], int]:
    """The bracket schedule shared by the most symbols (ties: the alphabetically first symbol's)."""
    counts = Counter(table.values())
    best = max(counts.values())
    first = min(s for s, b in table.items() if counts[b] == best)
    return table[first], best


BRACKETS_AS_OF: str = _shipped().as_of
"""Date (``YYYY-MM-DD``) of the shipped bracket table."""

BRACKETS_SOURCE: str = _shipped().source
"""Where the shipped bracket table came from."""

_FALLBACK_BRACKETS, _FALLBACK_SHARED_BY = _most_common_schedule(_shipped().symbols)

FALLBACK_BRACKETS: tuple[MmrBracket, ...] = _FALLBACK_BRACKETS
"""Brackets for a symbol that is not in the table (or no symbol at all).

It is the schedule that the most symbols of the shipped table share exactly. In the 2024-10-24 table that is
the generic small-cap USDT schedule of 27 of 318 symbols: at most 50x and 1.5 % maintenance up to 5,000 USD,
then 20x / 2 % to 20,000 USD and on down to 1x / 50 %. A symbol missing from the table is most likely a recent,
small listing, and this schedule is a real one of such listings; it also is conservative against the
larger-cap schedules (75x at 1 %), so the estimate does not invent leverage the pair may not offer. Being a
real row of the table, it passes every check of :func:`load_brackets`.
"""


def _describe(brackets: tuple[MmrBracket, ...]) -> str:
    """Short words for a schedule's first bracket, e.g. ``"max 50x, 1.50 % maintenance up to 5,000 USD"``."""
    b = brackets[0]
    return f"max {b.max_leverage:g}x, {b.mmr * 100:.2f} % maintenance up to {b.notional_cap_usd:,.0f} USD"


def _fallback_note(symbol: str) -> str:
    """Plain words saying that the fallback schedule stands in for ``symbol``."""
    generic = (
        f"the generic small-cap schedule ({_describe(FALLBACK_BRACKETS)}; shared by {_FALLBACK_SHARED_BY} "
        f"of {len(bracket_table())} listed symbols) is used"
    )
    if not symbol:
        return f"No symbol was given, so Binance's bracket table of {BRACKETS_AS_OF} was not consulted; {generic}."
    return f"{symbol} is not in Binance's bracket table of {BRACKETS_AS_OF}; {generic}."


def brackets_for(symbol: str | None) -> SymbolBrackets:
    """The brackets of ``symbol`` (case-insensitive), or the fallback with a note saying so.

    Parameters
    ----------
    symbol : str or None
        A Binance USDⓈ-M symbol such as ``"BTCUSDT"``. None (or an empty string) gets the fallback.

    Returns
    -------
    SymbolBrackets
        Binance's brackets for the symbol, or :data:`FALLBACK_BRACKETS` with ``fallback=True`` and a note.

    Examples
    --------
    >>> brackets_for("btcusdt").brackets[0].mmr
    0.004
    >>> sol = brackets_for("SOLXUSDT")
    >>> sol.fallback, sol.brackets == FALLBACK_BRACKETS
    (True, True)
    >>> sol.note.startswith("SOLXUSDT is not in Binance's bracket table of 2024-10-24")
    True
    """
    key = (symbol or "").strip().upper()
    found = bracket_table().get(key)
    if found is not None:
        return SymbolBrackets(key, found, False, None)
    return SymbolBrackets(key, FALLBACK_BRACKETS, True, _fallback_note(key))
