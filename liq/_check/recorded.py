"""Recorded liquidations to draw over a chart: the built-in recordings and a user's own file.

Each source gives a :class:`~liq._check.events.RecordedEvents` for one symbol: its events and the windows in
which the recording listened (:func:`liq.recording_windows`: a silence longer than 45 minutes is taken as the
recorder being off), so the app says "not recorded" instead of "no liquidations" outside them.

The built-in recordings (files in ``liq/data``, provenance in ``liq/data/PROVENANCE.md``):

* ``dec2024``: BTCUSDT, 2024-12-04 → 12-29 (over the built-in BTCUSDT 5m sample);
* ``oct2025``: a BTCUSDT / ETHUSDT excerpt of 2025-10-22 (over the Oct 2025 sample);
* ``jun2025``: every symbol, 2025-06-23 20:59 → 21:56 UTC (Set D, :func:`liq._check.builtin.set_d_liquidations`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd

from .builtin import set_d_liquidations
from .events import RecordedEvents
from .model_check import recording_windows
from .recordings import PathOrBuffer, load_liquidations

__all__ = [
    "BUILTIN_RECORDINGS",
    "BuiltinRecording",
    "builtin_recording",
    "recorded_events",
    "uploaded_recording",
]


@dataclass(frozen=True)
class BuiltinRecording:
    """One recording shipped with the package: its id, its label, and how to read it."""

    key: str
    label: str
    read: Callable[[], pd.DataFrame]


def _packaged(name: str) -> Callable[[], pd.DataFrame]:
    def read() -> pd.DataFrame:
        with resources.files("liq").joinpath("data").joinpath(name).open("rb") as fh:
            return load_liquidations(pd.read_csv(fh, compression="gzip"))

    return read


#: The built-in recordings, by id.
BUILTIN_RECORDINGS: dict[str, BuiltinRecording] = {
    r.key: r
    for r in (
        BuiltinRecording(
            "dec2024",
            "the built-in Dec 2024 BTCUSDT recording",
            _packaged("BTCUSDT_liquidations_2024-12-04_2024-12-29.csv.gz"),
        ),
        BuiltinRecording(
            "oct2025",
            "the built-in Oct 2025 BTCUSDT/ETHUSDT excerpt",
            _packaged("BTCUSDT_ETHUSDT_liquidations_excerpt_2025-10-22.csv.gz"),
        ),
        BuiltinRecording("jun2025", "the built-in June 2025 all-symbol recording", set_d_liquidations),
    )
}


@functools.lru_cache(maxsize=len(BUILTIN_RECORDINGS))
def _builtin(key: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All events of a built-in recording and its windows (read once per process)."""
    events = BUILTIN_RECORDINGS[key].read()
    return events, recording_windows(events)[["start", "end"]]


@functools.lru_cache(maxsize=len(BUILTIN_RECORDINGS))
def _builtin_spans(key: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """A built-in recording's windows as UTC nanoseconds (start, end), for a quick overlap test."""
    windows = _builtin(key)[1]
    start, end = (
        pd.DatetimeIndex(pd.to_datetime(windows[c], utc=True)).as_unit("ns") for c in ("start", "end")
    )
    return start.asi8, end.asi8


@functools.lru_cache(maxsize=len(BUILTIN_RECORDINGS))
def _builtin_symbols(key: str) -> frozenset[str]:
    """The symbols a built-in recording holds events of (found once per process)."""
    return frozenset(_builtin(key)[0]["symbol"].astype(str).unique())


def recorded_events(
    events: pd.DataFrame, symbol: str, source: str, *, windows: pd.DataFrame | None = None
) -> RecordedEvents:
    """``events`` of ``symbol`` with the windows the recording listened in.

    Parameters
    ----------
    events : DataFrame
        From :func:`liq.load_liquidations` (any symbols: the windows are the recorder's, found from all).
    symbol : str
        The symbol to keep.
    source : str
        Where the events come from, in words.
    windows : DataFrame, optional
        ``start, end``; default :func:`liq.recording_windows` of ``events``.

    Examples
    --------
    >>> import io
    >>> ev = load_liquidations(io.StringIO("time_ms,symbol,side,avg_price,filled_qty\\n"
    ...     "1733330785584,BTCUSDT,SELL,94809.6,0.5\\n1733330790000,ETHUSDT,BUY,3800,2\\n"))
    >>> rec = recorded_events(ev, "btcusdt", "your file")
    >>> len(rec.events), len(rec.windows), str(rec.windows["end"].iloc[0])
    (1, 1, '2024-12-04 16:46:30+00:00')
    """
    sym = str(symbol).strip().upper()
    win = recording_windows(events)[["start", "end"]] if windows is None else windows
    mine = events[events["symbol"] == sym].reset_index(drop=True)
    return RecordedEvents(mine, win.reset_index(drop=True), source)


def _utc(value: object) -> pd.Timestamp:
    t = pd.Timestamp(value)  # type: ignore[arg-type]
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def builtin_recording(symbol: str, start: object, end: object) -> RecordedEvents | None:
    """The built-in recording of ``symbol`` that listened between ``start`` and ``end`` (UTC), if any.

    Examples
    --------
    >>> rec = builtin_recording("BTCUSDT", "2024-12-05 00:00", "2024-12-05 02:00")
    >>> rec.source, len(rec.events) > 0
    ('the built-in Dec 2024 BTCUSDT recording', True)
    >>> builtin_recording("BTCUSDT", "2023-01-01", "2023-01-02") is None
    True
    """
    sym = str(symbol).strip().upper()
    t0, t1 = _utc(start), _utc(end)
    for key, rec in BUILTIN_RECORDINGS.items():
        starts_ns, ends_ns = _builtin_spans(key)
        listening = bool(((starts_ns < t1.as_unit("ns").value) & (ends_ns >= t0.as_unit("ns").value)).any())
        if listening and sym in _builtin_symbols(key):
            events, windows = _builtin(key)
            return recorded_events(events, sym, rec.label, windows=windows)
    return None


def uploaded_recording(path_or_buffer: PathOrBuffer, symbol: str, name: str = "your file") -> RecordedEvents:
    """A user's recording (any layout :func:`liq.load_liquidations` reads) for ``symbol``.

    Raises :class:`~liq.DataValidationError` with a plain message when the file is not a recording.
    """
    return recorded_events(load_liquidations(path_or_buffer), symbol, name)
