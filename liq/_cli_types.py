"""Argument types the ``python -m liq`` subcommands share (``argparse`` ``type=`` callables)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime, timedelta

import pandas as pd

from ._errors import DataValidationError
from ._sources._common import INTERVAL_MS, INTERVALS

__all__ = [
    "MAX_CLI_CANDLES",
    "add_range_options",
    "check_candles",
    "command_range",
    "days_type",
    "stderr_notes",
    "utc_time",
]

#: Most candles one command loads per pair (120 days of 1m candles, the commands' earlier longest range).
MAX_CLI_CANDLES = 172_800


def check_candles(interval: str, days: float) -> None:
    """Raise :class:`~liq.DataValidationError` when ``days`` of ``interval`` candles exceed :data:`MAX_CLI_CANDLES`.

    Examples
    --------
    >>> check_candles("1h", 365)
    >>> check_candles("1m", 365)
    Traceback (most recent call last):
    ...
    liq._errors.DataValidationError: 365 days of 1m candles is 525,600 candles, more than 172,800; choose a longer interval (for example 1h) or fewer days.
    """
    n = days * 86_400_000 / INTERVAL_MS[interval]
    if n > MAX_CLI_CANDLES:
        raise DataValidationError(
            f"{days:g} days of {interval} candles is {n:,.0f} candles, more than {MAX_CLI_CANDLES:,}; choose a "
            "longer interval (for example 1h) or fewer days."
        )


def add_range_options(parser: argparse.ArgumentParser, most_days: float) -> None:
    """Add ``--interval``, ``--days`` (above 0, at most ``most_days``) and ``--end``: what :func:`command_range`
    reads."""
    parser.add_argument("--interval", default="5m", choices=INTERVALS, help="candle interval (default: 5m)")
    parser.add_argument(
        "--days", type=days_type(most_days), default=7.0, help="how many days of history (default: 7)"
    )
    parser.add_argument("--end", type=utc_time, default=None, help="end of the range, UTC (default: now)")


def command_range(args: argparse.Namespace) -> tuple[datetime, datetime]:
    """The ``[start, end)`` a loading command reads: ``--days`` up to ``--end`` (or ``args.now``).

    First :func:`check_candles` refuses more candles than :data:`MAX_CLI_CANDLES`.

    Examples
    --------
    >>> args = argparse.Namespace(interval="1h", days=2.0, end=utc_time("2024-12-20"), now=None)
    >>> [t.isoformat() for t in command_range(args)]
    ['2024-12-18T00:00:00+00:00', '2024-12-20T00:00:00+00:00']
    """
    check_candles(args.interval, args.days)
    end: datetime = args.end if args.end is not None else args.now
    return end - timedelta(days=args.days), end


def stderr_notes(args: argparse.Namespace) -> Callable[[str], None]:
    """A function printing one message a line on ``args.stderr``, silent with ``--quiet``."""

    def note(message: str) -> None:
        if not args.quiet:
            print(message, file=args.stderr)

    return note


def days_type(most: float) -> Callable[[str], float]:
    """An argument type for ``--days``: a number of days above 0 and at most ``most``.

    Examples
    --------
    >>> days_type(366.0)("1.5")
    1.5
    >>> days_type(366.0)("400")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: --days must be above 0 and at most 366
    """

    def days(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"--days must be a number of days, not {text!r}") from None
        if not 0 < value <= most:
            raise argparse.ArgumentTypeError(f"--days must be above 0 and at most {most:g}")
        return value

    return days


def utc_time(text: str) -> datetime:
    """A date or date-time given on the command line, as a tz-aware UTC datetime (naive means UTC).

    Examples
    --------
    >>> utc_time("2024-12-20T12:00").isoformat()
    '2024-12-20T12:00:00+00:00'
    """
    try:
        ts = pd.Timestamp(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--end must be a date/time such as 2024-12-20 or 2024-12-20T12:00, not {text!r}"
        ) from None
    if ts is pd.NaT:
        raise argparse.ArgumentTypeError("--end is empty")
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.to_pydatetime()
