"""Command line: ``python -m liq <command> ...``.

Commands are argparse subparsers. Each one is added by a *registrar*, a function that receives the
subparsers object, adds its parser, and sets ``handler`` (``Namespace -> int`` exit code) as a default.
To add a command, write a registrar and append it to :data:`COMMANDS`; :func:`main` needs no change.

Exit codes: 0 success, 1 a data/source problem (the message is printed on stderr), 2 bad arguments.

Examples
--------
>>> parser = build_parser()
>>> args = parser.parse_args(["levels", "--symbol", "ethusdt", "--days", "3", "--source", "sample"])
>>> args.symbol, args.interval, args.days, args.source, args.format
('ethusdt', '5m', 3.0, 'sample', 'table')
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ._check.recorder import add_record_parser
from ._cli_types import add_range_options, command_range, stderr_notes
from ._errors import LiqError
from ._format import format_pct, format_price, format_usd, price_decimals
from ._screen_cli import add_screen_parser
from ._sources._common import SOURCES, LoadResult, utc_now
from ._sources.chain import load_market_data

__all__ = ["COMMANDS", "build_parser", "main", "register_levels"]

Registrar = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

#: Longest range the ``levels`` command accepts, in days (the app's longest range, 1 year, and a day more).
MAX_DAYS = 366.0


def register_levels(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``levels``: load market data, run ``liq.estimate``, print levels, zones and the summary."""
    p = subparsers.add_parser(
        "levels",
        help="print estimated liquidation levels, zones and a summary",
        description=(
            "Load candles (live Binance, the public archive, or the built-in sample), run the liquidation "
            "estimate, and print its levels, zones and summary. Progress and fallback warnings go to stderr."
        ),
    )
    p.add_argument("--symbol", default="BTCUSDT", help="Binance USDⓈ-M perpetual (default: BTCUSDT)")
    add_range_options(p, MAX_DAYS)
    p.add_argument(
        "--source",
        default="auto",
        choices=SOURCES,
        help="auto tries live, then the archive, then the built-in sample (default: auto)",
    )
    p.add_argument(
        "--format",
        default="table",
        choices=("table", "json", "csv"),
        help="table (readable), json (everything), csv (the levels table only); default: table",
    )
    p.add_argument(
        "--top", type=int, default=20, help="table format: show the N levels nearest the price (default: 20)"
    )
    p.add_argument(
        "--cache-dir",
        default=None,
        help="archive download cache (default: $LIQ_CACHE_DIR or ~/.cache/liq-heatmap)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress messages on stderr")
    p.set_defaults(handler=_run_levels)


#: Registrars of every subcommand, in the order ``--help`` lists them.
COMMANDS: list[Registrar] = [register_levels, add_record_parser, add_screen_parser]


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m liq`` argument parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="python -m liq",
        description="Liq. Heatmap & Levels: estimated Binance USDⓈ-M liquidation levels from the command line.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for register in COMMANDS:
        register(sub)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    now: datetime | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run the command line and return the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).
    now : datetime, optional
        Current time (tz-aware) used when ``--end`` is not given; defaults to the clock.
    stdout, stderr : text streams, optional
        Where results and messages go (default: the process streams).
    """
    out = stdout if stdout is not None else sys.stdout
    err = stderr if stderr is not None else sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else 2
    args.now = now if now is not None else utc_now()
    args.stdout, args.stderr = out, err
    try:
        handler: Callable[[argparse.Namespace], int] = args.handler
        return handler(args)
    except LiqError as exc:
        print(f"error: {exc}", file=err)
        return 1


# ---------------------------------------------------------------------------------------------- levels


def _run_levels(args: argparse.Namespace) -> int:
    from ._engine import estimate

    err: TextIO = args.stderr
    start, end = command_range(args)
    progress = stderr_notes(args)
    result = load_market_data(
        args.symbol,
        args.interval,
        start,
        end,
        args.source,
        progress=progress,
        now=args.now,
        cache_dir=args.cache_dir,
    )
    if args.format != "table":  # the table prints them itself; keep machine-readable stdout clean
        for fb in result.fallbacks:
            print(f"warning: {fb.reason}", file=err)
    data = result.data
    est = estimate(data.candles, open_interest=data.open_interest, symbol=data.symbol)
    out: TextIO = args.stdout
    if args.format == "json":
        json.dump(_as_json(result, est), out, indent=2, allow_nan=False)
        out.write("\n")
    elif args.format == "csv":
        _levels_table(est.levels, price_decimals(est.last_price)).to_csv(
            out, index=False, lineterminator="\n"
        )
    else:
        out.write(_as_table(result, est, args.top))
    return 0


def _levels_table(levels: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """The levels for CSV: prices rounded as they are shown, USD to whole dollars, times as ISO text."""
    frame = levels.copy()
    for col in ("price", "zone_low", "zone_high"):
        if col in frame:
            frame[col] = frame[col].astype(float).round(decimals)
    if "notional_usd" in frame:
        frame["notional_usd"] = frame["notional_usd"].astype(float).round(0)
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].map(lambda t: t.isoformat() if not pd.isna(t) else "")
    return frame


def _plain(value: Any) -> Any:
    """JSON-safe scalar: numpy numbers to Python, NaN to None, times to ISO text."""
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _plain(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _level_json(level: Any) -> dict[str, Any] | None:
    if level is None:
        return None
    return {k: _plain(getattr(level, k)) for k in ("price", "side", "notional_usd", "distance_pct")}


def _as_json(result: LoadResult, est: Any) -> dict[str, Any]:
    data, s = result.data, est.summary
    return {
        "symbol": data.symbol,
        "interval": data.interval,
        "source": data.source,
        "note": data.note,
        "fallbacks": [{"source": f.source, "reason": f.reason} for f in result.fallbacks],
        "model": est.model,
        "notes": list(est.notes),
        "last_time": _plain(est.last_time),
        "summary": {
            "last_price": _plain(s.last_price),
            "nearest_above": _level_json(s.nearest_above),
            "nearest_below": _level_json(s.nearest_below),
            "long_usd_within_pct": {str(k): _plain(v) for k, v in s.long_usd_within.items()},
            "short_usd_within_pct": {str(k): _plain(v) for k, v in s.short_usd_within.items()},
            "asymmetry": _plain(s.asymmetry),
            "reading": s.reading,
        },
        "levels": _records(est.levels),
        "zones": _records(est.zones),
    }


def _summary_lines(result: LoadResult, est: Any, price: Callable[[float], str]) -> list[str]:
    data, s = result.data, est.summary
    lines = [f"{data.symbol} {data.interval} · source: {data.source}", data.note]
    lines += [f"warning: {f.reason}" for f in result.fallbacks]
    lines += [f"note: {n}" for n in est.notes]
    lines += ["", f"Last price {price(s.last_price)} at {est.last_time:%Y-%m-%d %H:%M} UTC"]
    for label, level in (("Nearest above", s.nearest_above), ("Nearest below", s.nearest_below)):
        if level is None:
            lines.append(f"{label}: none")
        else:
            lines.append(
                f"{label}: {price(level.price)} ({level.side}, {format_usd(level.notional_usd)}, "
                f"{format_pct(level.distance_pct)})"
            )
    for pct in sorted(s.long_usd_within):
        lines.append(
            f"Within ±{pct} %: longs {format_usd(s.long_usd_within[pct])} below, shorts "
            f"{format_usd(s.short_usd_within.get(pct, math.nan))} above"
        )
    asym = "n/a" if not math.isfinite(s.asymmetry) else f"{s.asymmetry:+.2f}"
    return [*lines, f"Asymmetry: {asym}. {s.reading}", ""]


def _level_lines(levels: pd.DataFrame, top: int, price: Callable[[float], str]) -> list[str]:
    if levels.empty:
        return ["No levels."]
    shown = levels.loc[levels["distance_pct"].abs().sort_values().index[: max(top, 1)]]
    shown = shown.sort_values("price", ascending=False)
    table = pd.DataFrame(
        {
            "price": shown["price"].map(price),
            "side": shown["side"],
            "notional": shown["notional_usd"].map(format_usd),
            "distance": shown["distance_pct"].map(format_pct),
            "zone": [
                f"{price(a)} – {price(b)}" for a, b in zip(shown["zone_low"], shown["zone_high"], strict=True)
            ],
            "approaches": shown["approaches"],
            "cascade": shown["cascade"].map(lambda c: "yes" if c else ""),
        }
    )
    return [f"Levels ({len(shown)} nearest of {len(levels)}):", table.to_string(index=False)]


def _zone_lines(zones: pd.DataFrame, price: Callable[[float], str]) -> list[str]:
    if zones.empty:
        return []
    table = pd.DataFrame(
        {
            "side": zones["side"],
            "from": zones["zone_low"].map(price),
            "to": zones["zone_high"].map(price),
            "notional": zones["notional_usd"].map(format_usd),
            "levels": zones["levels"],
        }
    )
    return ["", f"Zones ({len(zones)}):", table.to_string(index=False)]


def _as_table(result: LoadResult, est: Any, top: int) -> str:
    """The readable output: summary, the levels nearest the price, the zones (prices as the app shows them)."""
    d = price_decimals(est.last_price)

    def price(x: float) -> str:
        return format_price(x, d)

    lines = (
        _summary_lines(result, est, price)
        + _level_lines(est.levels, top, price)
        + _zone_lines(est.zones, price)
    )
    return "\n".join(lines) + "\n"
