"""Argument types the ``python -m liq`` subcommands share (``argparse`` ``type=`` callables)."""

from __future__ import annotations

import argparse
from datetime import datetime

import pandas as pd

__all__ = ["utc_time"]


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
