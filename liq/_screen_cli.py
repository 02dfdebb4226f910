"""``python -m liq screen``: the levels screener from the command line (a ``liq._cli`` registrar).

Prints one row per pair as a readable table, a CSV (prices rounded as shown, USD in whole dollars) or JSON
(every column, NaN as null). Progress and notes go to stderr, so the output can be redirected as is, for
example from a scheduled job.

Examples
--------
>>> parser = argparse.ArgumentParser(prog="python -m liq")
>>> add_screen_parser(parser.add_subparsers(dest="command"))
>>> args = parser.parse_args(["screen", "--symbols", "btcusdt,ETHUSDT", "--format", "csv"])
>>> args.symbols, args.format, args.interval, args.days
(['BTCUSDT', 'ETHUSDT'], 'csv', '5m', 7.0)
"""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, TextIO

import pandas as pd

from ._cli_types import add_range_options, command_range, stderr_notes
from ._format import format_pct, format_price, format_usd, price_decimals
from ._screen import (
    COLUMN_LABELS,
    PCT_COLUMNS,
    PRICE_COLUMNS,
    SCREEN_WORKERS,
    USD_COLUMNS,
    Screen,
    pairs_to_screen,
    screen,
)
from ._sources._common import SOURCES, SYMBOL_PATTERN

__all__ = ["add_screen_parser", "run_screen_command", "screen_csv", "screen_json", "screen_table"]

#: Longest range the command accepts, in days (the app's longest range).
MAX_SCREEN_DAYS = 366.0
#: Most pairs one run screens.
MAX_SCREEN_PAIRS = 100

#: Columns of the readable table (USD within ±1 % and ±5 % are left to CSV and JSON to keep it narrow).
_TABLE_COLUMNS = (
    "symbol",
    "last_price",
    "long_price",
    "long_distance_pct",
    "long_usd",
    "short_price",
    "short_distance_pct",
    "short_usd",
    "long_usd_2pct",
    "short_usd_2pct",
    "asymmetry",
    "largest_price",
    "largest_usd",
    "swept_long_usd_24h",
    "swept_short_usd_24h",
)


def _symbols(text: str) -> list[str]:
    names = [s.strip().upper() for s in text.split(",") if s.strip()]
    if not names or len(names) > MAX_SCREEN_PAIRS:
        raise argparse.ArgumentTypeError(
            f"--symbols takes 1 to {MAX_SCREEN_PAIRS} pairs, e.g. BTCUSDT,ETHUSDT"
        )
    bad = [n[:30] for n in names if not SYMBOL_PATTERN.match(n)]
    if bad:
        raise argparse.ArgumentTypeError(f"--symbols: {', '.join(bad)} is not a contract name like BTCUSDT")
    return names


def _top(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--top must be a whole number, not {text!r}") from None
    if not 1 <= n <= MAX_SCREEN_PAIRS:
        raise argparse.ArgumentTypeError(f"--top must be 1 to {MAX_SCREEN_PAIRS}")
    return n


def add_screen_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``screen``; the parsed namespace gets ``handler`` (:func:`run_screen_command`)."""
    p = subparsers.add_parser(
        "screen",
        help="screen many pairs: nearest levels, USD near price, asymmetry, largest level, swept in 24 h",
        description=(
            "Estimate liquidation levels for many pairs and print one row per pair. Without --symbols: the "
            "most traded perpetuals by 24h volume (live), or the built-in sample's pairs."
        ),
    )
    p.add_argument(
        "--symbols", type=_symbols, default=None, help="comma-separated pairs, e.g. BTCUSDT,ETHUSDT"
    )
    p.add_argument(
        "--top", type=_top, default=20, help="without --symbols: how many pairs by volume (default 20)"
    )
    add_range_options(p, MAX_SCREEN_DAYS)
    p.add_argument("--source", default="auto", choices=SOURCES, help="data source (default: auto)")
    p.add_argument("--format", default="table", choices=("table", "csv", "json"), help="default: table")
    p.add_argument(
        "--workers", type=int, default=SCREEN_WORKERS, choices=range(1, SCREEN_WORKERS + 1), metavar="N"
    )
    p.add_argument("--cache-dir", default=None, help="archive download cache")
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.set_defaults(handler=run_screen_command)


def run_screen_command(args: argparse.Namespace) -> int:
    """Run ``screen``: exit code 0 when at least one pair was screened (failed pairs are rows with their
    reason), 1 when none was."""
    start, end = command_range(args)
    say = stderr_notes(args)
    symbols = args.symbols
    if symbols is None:
        symbols, where = pairs_to_screen(args.source, args.top)
        say(where)
    res = screen(
        symbols,
        args.interval,
        start,
        end,
        args.source,
        workers=args.workers,
        progress=lambda done, total, sym: say(f"Screened {done}/{total} ({sym})"),
        now=args.now,
        cache_dir=args.cache_dir,
    )
    for note in res.notes:
        say(f"note: {note}")
    out: TextIO = args.stdout
    writer = {"csv": screen_csv, "json": screen_json}.get(args.format, screen_table)
    out.write(writer(res))
    return 1 if len(res.failed) == len(res.rows) else 0


def _cell(col: str, value: Any, decimals: int) -> str:
    if col in PRICE_COLUMNS:
        return format_price(value, decimals)
    if col in USD_COLUMNS:
        return format_usd(value)
    if col in PCT_COLUMNS:
        return format_pct(value)
    if col == "asymmetry":
        return "–" if not math.isfinite(value) else f"{value:+.2f}"
    return str(value)


def screen_table(res: Screen) -> str:
    """Readable fixed-width table, one line per pair; failed pairs print their reason instead."""
    rows: list[list[str]] = []
    problems: list[str] = []
    for r in res.rows:
        if r.error is not None:
            problems.append(f"{r.symbol}: {r.error}")
            rows.append([r.symbol, *(["–"] * (len(_TABLE_COLUMNS) - 1))])
            continue
        d = price_decimals(r.last_price)
        rows.append([_cell(c, getattr(r, c), d) for c in _TABLE_COLUMNS])
    head = [COLUMN_LABELS[c] for c in _TABLE_COLUMNS]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(head)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(head, widths, strict=True))
        )
    ]
    for row in rows:
        lines.append(
            "  ".join(
                v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    lines.append("All USD figures are model estimates, not reported positions.")
    lines.extend(f"Failed: {p}" for p in problems)
    return "\n".join(lines) + "\n"


def _export_frame(res: Screen) -> pd.DataFrame:
    frame = res.frame()
    decimals = frame["last_price"].map(price_decimals)
    for col in PRICE_COLUMNS:
        frame[col] = [
            round(v, d) if math.isfinite(v) else v for v, d in zip(frame[col], decimals, strict=True)
        ]
    for col in USD_COLUMNS:
        frame[col] = frame[col].round(0)
    frame["last_time"] = frame["last_time"].map(
        lambda t: t.isoformat() if isinstance(t, pd.Timestamp) else ""
    )
    return frame


def screen_csv(res: Screen) -> str:
    """Every column as CSV (prices rounded as shown, USD in whole dollars, failed pairs with their reason)."""
    return str(_export_frame(res).to_csv(index=False, lineterminator="\n"))


def screen_json(res: Screen) -> str:
    """``{"interval", "source", "notes", "rows": [...]}`` with every column; NaN is written as null."""
    rows = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in _export_frame(res).to_dict(orient="records")
    ]
    body = {"interval": res.interval, "source": res.source, "notes": list(res.notes), "rows": rows}
    return json.dumps(body, indent=2, allow_nan=False) + "\n"
