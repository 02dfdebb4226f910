"""Record Binance USDⓈ-M liquidation (``forceOrder``) events to a CSV, durably.

``python -m liq record-liquidations --symbols BTCUSDT,ETHUSDT --out liquidations.csv`` subscribes to
``<symbol>@forceOrder`` for each symbol through python-binance's futures multiplex socket, which connects on
the ``/market`` route of the futures stream host (``wss://fstream.binance.com/market/stream?streams=...``).

Durability
    Each event is written as one complete CSV line, then flushed and ``fsync``-ed before the next message is
    read. Ctrl-C cancels the recorder between messages (asyncio delivers it at an ``await``), so every row
    already received is on disk and no half row is ever written.
Reconnects
    When the connection drops, a malformed frame kills the client's read loop, or the host refuses, the
    recorder waits with exponential backoff (1 s, 2 s, 4 s, ... capped at 60 s, with jitter) and reconnects.
Gaps
    Every interval in which it was not listening is appended to a sidecar file, ``<out stem>.gaps.csv``
    (``start_utc, end_utc, reason``): disconnects, and the time between the last row of an existing file and
    a restart. :func:`liq.load_gaps` reads it and :func:`liq.recording_windows` cuts those intervals out, so
    the model check does not count them as "no liquidations".

The row layout (:data:`RECORDER_COLUMNS`) is the full forceOrder layout read by :func:`liq.load_liquidations`.
Messages become rows through :func:`liq._check.events.parse_force_order` (the live tail's conversion too), so a
message the app would not draw is not recorded either.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import logging
import os
import random
import signal
import sys
import time
import warnings
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeVar

from .._errors import DataValidationError, RecorderError
from .events import LiquidationEvent, iso_utc, parse_force_order

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "GAP_COLUMNS",
    "RECORDER_COLUMNS",
    "RecorderStats",
    "add_record_parser",
    "gaps_path_for",
    "parse_force_order",
    "record_liquidations",
    "run_record_command",
]

log = logging.getLogger(__name__)

#: Columns written by the recorder, in order (epoch ms, Binance's raw fields, and an ISO UTC time).
RECORDER_COLUMNS: tuple[str, ...] = (
    "time_ms",
    "time_utc",
    "event_time_ms",
    "symbol",
    "side",
    "order_type",
    "time_in_force",
    "orig_qty",
    "price",
    "avg_price",
    "order_status",
    "last_filled_qty",
    "filled_accumulated_qty",
)
#: Columns of the gap log.
GAP_COLUMNS: tuple[str, ...] = ("start_utc", "end_utc", "reason")

#: Default futures stream host; the multiplex socket appends ``market/stream?streams=...``.
DEFAULT_STREAM_URL = "wss://fstream.binance.com/"


def gaps_path_for(out: str | os.PathLike[str]) -> Path:
    """Path of the gap log that goes with ``out``: ``liquidations.csv`` → ``liquidations.gaps.csv``."""
    p = Path(out)
    name = p.name[: -len(".csv")] if p.name.endswith(".csv") else p.name
    return p.with_name(f"{name}.gaps.csv")


@dataclass
class RecorderStats:
    """What a recording session did (mutable counters, returned at the end)."""

    events: int = 0
    malformed: int = 0
    connections: int = 0
    gaps: int = 0
    errors: list[str] = field(default_factory=list)


class _DurableCsv:
    """Append-only CSV: header once, then one complete line per call, flushed and fsync-ed.

    With ``lock=True`` the file is locked (``fcntl.flock``) for as long as it is open, so a second recorder
    on the same file is refused instead of interleaving rows.
    """

    def __init__(self, path: Path, columns: Sequence[str], *, fsync: bool, lock: bool = False) -> None:
        self.path, self.columns, self.fsync = path, tuple(columns), fsync
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            existing = path.exists() and path.stat().st_size > 0
            if existing:
                self._check_header()
            self._fh: TextIO = path.open("a", encoding="utf-8", newline="")
        except OSError as exc:
            raise RecorderError(
                f"Cannot write the recording to {path} ({exc.strerror or type(exc).__name__}). Choose an --out "
                "file in a folder you can write to."
            ) from None
        if lock:
            self._lock()
        if not existing:
            self._write_line(self.columns)

    def _check_header(self) -> None:
        with self.path.open("r", encoding="utf-8", newline="") as fh:
            header = fh.readline().strip().split(",")
        if tuple(header) != self.columns:
            raise DataValidationError(
                f"{self.path} already exists with other columns ({header[:4]}...). Choose a new --out file; the "
                "recorder only appends to its own format."
            )

    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover - not POSIX: no lock, as before
            return
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            raise RecorderError(
                f"Another recorder is already writing to {self.path}. Stop it first, or record to another --out "
                "file."
            ) from None

    def last_row(self) -> dict[str, str] | None:
        """The last complete data row already in the file (read before appending)."""
        with self.path.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            tail = fh.read().decode("utf-8", errors="replace").splitlines()
        if len(tail) < 2 and size <= 4096:
            return None
        line = tail[-1] if tail else ""
        values = next(csv.reader([line]), [])
        if len(values) != len(self.columns) or values[0] == self.columns[0]:
            return None
        return dict(zip(self.columns, values, strict=True))

    def _write_line(self, values: Sequence[str]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        self._fh.write(buf.getvalue())  # one write call: a line is whole or absent
        self._fh.flush()
        if self.fsync:
            os.fsync(self._fh.fileno())

    def write(self, row: Mapping[str, str]) -> None:
        self._write_line([row.get(c, "") for c in self.columns])

    def close(self) -> None:
        self._fh.close()  # closing also releases the lock


def _binance() -> tuple[Any, Any]:
    """Import python-binance lazily, muting the deprecation warning it triggers in ``websockets`` >= 14
    (it imports the legacy ``WebSocketClientProtocol`` name; the sockets it opens use the new API)."""
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message=r"websockets\..* is deprecated", category=DeprecationWarning
        )
        from binance import AsyncClient, BinanceSocketManager
    return AsyncClient, BinanceSocketManager


def _backoff_s(attempt: int, initial_s: float, max_s: float) -> float:
    """Exponential backoff with jitter in [50 %, 100 %] of the step."""
    step = min(max_s, initial_s * (2.0 ** max(attempt, 0)))
    return step * (0.5 + 0.5 * random.random())


async def record_liquidations(
    symbols: Sequence[str],
    out: str | os.PathLike[str],
    *,
    stream_url: str = DEFAULT_STREAM_URL,
    max_events: int | None = None,
    stop: asyncio.Event | None = None,
    backoff_initial_s: float = 1.0,
    backoff_max_s: float = 60.0,
    fsync: bool = True,
    on_event: Callable[[LiquidationEvent], None] | None = None,
) -> RecorderStats:
    """Record forceOrder events for ``symbols`` into ``out`` until stopped.

    Parameters
    ----------
    symbols : sequence of str
        Binance USDⓈ-M symbols, e.g. ``["BTCUSDT", "ETHUSDT"]``.
    out : path
        CSV to append to (created with a header when new).
    stream_url : str
        Base URL of the futures stream host (ending in ``/``). python-binance appends
        ``market/stream?streams=...``. Tests point it at a local server.
    max_events : int, optional
        Stop after this many events were written (tests, short recordings).
    stop : asyncio.Event, optional
        Stop when set.
    backoff_initial_s, backoff_max_s : float
        Reconnect backoff: first wait and cap, seconds.
    fsync : bool
        ``os.fsync`` after each row (default), so a power cut loses nothing already received.
    on_event : callable, optional
        Called with each written event (e.g. to print progress).

    Returns
    -------
    RecorderStats
        Counters of the session. Cancelling the task (Ctrl-C) stops it cleanly too.
    """
    AsyncClient, BinanceSocketManager = _binance()
    syms = [s.strip().upper() for s in symbols if s.strip()]
    if not syms:
        raise DataValidationError("Give at least one symbol, e.g. --symbols BTCUSDT,ETHUSDT.")
    if not stream_url.endswith("/"):
        stream_url += "/"
    streams = [f"{s.lower()}@forceOrder" for s in syms]
    run = _Run(Path(out), fsync=fsync, stop=stop or asyncio.Event(), max_events=max_events, on_event=on_event)
    client = AsyncClient()
    try:
        while not run.stop.is_set():
            bsm = BinanceSocketManager(client)
            bsm.FSTREAM_URL = stream_url  # injectable host; the /market route is added by python-binance
            socket = bsm.futures_multiplex_socket(streams)
            socket.MAX_RECONNECTS = 0  # we reconnect ourselves, so every gap is seen and logged
            socket.TIMEOUT = 1  # the client's read loop notices a stop within a second
            try:
                async with socket as ws:
                    run.connected(streams)
                    await run.pump(ws)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # any failure means: log the gap, back off, reconnect
                await run.back_off(err, backoff_initial_s, backoff_max_s)
    finally:
        run.close()
        await client.close_connection()
    return run.stats


class _Run:
    """One recording session: the two files, the counters, and when (and why) it stopped listening."""

    def __init__(
        self,
        out: Path,
        *,
        fsync: bool,
        stop: asyncio.Event,
        max_events: int | None,
        on_event: Callable[[LiquidationEvent], None] | None,
    ) -> None:
        self.rows = _DurableCsv(out, RECORDER_COLUMNS, fsync=fsync, lock=True)
        try:
            self.gaps = _DurableCsv(gaps_path_for(out), GAP_COLUMNS, fsync=fsync)
        except BaseException:
            self.rows.close()
            raise
        self.stats = RecorderStats()
        self.stop, self.max_events, self.on_event = stop, max_events, on_event
        previous = self.rows.last_row()
        self.down_since_ms: float | None = float(previous["time_ms"]) if previous else None
        self.down_reason = "recorder was not running"
        self.attempt = 0

    def log_gap(self, start_ms: float, end_ms: float, reason: str) -> None:
        self.gaps.write({"start_utc": iso_utc(start_ms), "end_utc": iso_utc(end_ms), "reason": reason})
        self.stats.gaps += 1
        log.warning("not listening %s → %s (%s)", iso_utc(start_ms), iso_utc(end_ms), reason)

    def connected(self, streams: Sequence[str]) -> None:
        self.stats.connections += 1
        now_ms = time.time() * 1000.0
        if self.down_since_ms is not None:
            self.log_gap(min(self.down_since_ms, now_ms), now_ms, self.down_reason)
        self.down_since_ms = None
        log.info("listening to %s", ", ".join(streams))

    async def pump(self, ws: Any) -> None:
        """Write every forceOrder event until stopped; raise on an error frame (the caller reconnects)."""
        while not self.stop.is_set():
            msg = await ws.recv()
            if isinstance(msg, Mapping) and msg.get("e") == "error":
                raise ConnectionError(f"{msg.get('type')}: {msg.get('m')}")
            event = parse_force_order(msg)
            if event is None:
                self.stats.malformed += 1
                log.warning("skipped a message that is not a complete forceOrder event: %.200r", msg)
                continue
            self.rows.write(event.recorder_row())
            self.stats.events += 1
            self.attempt = 0
            if self.on_event is not None:
                self.on_event(event)
            if self.max_events is not None and self.stats.events >= self.max_events:
                self.stop.set()

    async def back_off(self, err: Exception, initial_s: float, max_s: float) -> None:
        if self.down_since_ms is None:
            self.down_since_ms = time.time() * 1000.0
        self.down_reason = f"disconnected: {type(err).__name__}: {err}"[:200]
        self.stats.errors.append(self.down_reason)
        wait_s = _backoff_s(self.attempt, initial_s, max_s)
        self.attempt += 1
        log.warning("%s; reconnecting in %.1f s", self.down_reason, wait_s)
        try:
            await asyncio.wait_for(self.stop.wait(), timeout=wait_s)
        except asyncio.TimeoutError:
            pass

    def close(self) -> None:
        """Log the gap still open when stopping (Ctrl-C, SIGTERM, or a stop while disconnected), close files."""
        try:
            if self.down_since_ms is not None and self.stats.connections:
                now_ms = time.time() * 1000.0
                self.log_gap(
                    min(self.down_since_ms, now_ms), now_ms, self.down_reason + " (recorder stopped)"
                )
        finally:
            self.rows.close()
            self.gaps.close()


# ----------------------------------------------------------------------------------------------------
# command line
# ----------------------------------------------------------------------------------------------------
def add_record_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``record-liquidations`` on an argparse ``subparsers`` object (a ``liq._cli`` registrar).

    The parsed namespace gets ``handler`` (:func:`run_record_command`).

    Examples
    --------
    >>> parser = argparse.ArgumentParser(prog="python -m liq")
    >>> add_record_parser(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["record-liquidations", "--symbols", "BTCUSDT,ETHUSDT", "--out", "l.csv"])
    >>> args.symbols, args.out, args.handler is run_record_command
    ('BTCUSDT,ETHUSDT', 'l.csv', True)
    """
    p = subparsers.add_parser(
        "record-liquidations",
        help="record Binance liquidation (forceOrder) events to a CSV",
        description=(
            "Append Binance USDⓈ-M liquidation events to a CSV until Ctrl-C. Every row is on disk as soon as it "
            "arrives; gaps (disconnects, restarts) are logged to <out>.gaps.csv for the model check."
        ),
    )
    p.add_argument(
        "--symbols", default="BTCUSDT,ETHUSDT", help="comma-separated symbols (default: BTCUSDT,ETHUSDT)"
    )
    p.add_argument("--out", default="liquidations.csv", help="CSV to append to (default: liquidations.csv)")
    p.add_argument(
        "--url",
        default=DEFAULT_STREAM_URL,
        help="futures stream host; the /market route is appended (default: %(default)s)",
    )
    p.add_argument("--max-events", type=int, default=None, help="stop after this many events")
    p.add_argument("--quiet", action="store_true", help="do not print each event")
    p.set_defaults(handler=run_record_command)


_T = TypeVar("_T")


async def _until_stopped(job: Coroutine[Any, Any, _T]) -> _T:
    """Await ``job``; SIGTERM cancels it as Ctrl-C does, so rows are kept, files closed and the stop gap logged."""
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()

    def on_sigterm() -> None:
        log.warning("SIGTERM received; stopping")
        if task is not None:
            task.cancel()

    try:
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread, or no signal support here
        installed = False
    try:
        return await job
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGTERM)


def run_record_command(args: argparse.Namespace) -> int:
    """Run the recorder from parsed arguments; returns the process exit code (0 also after Ctrl-C)."""
    out: TextIO = getattr(args, "stdout", None) or sys.stdout
    err: TextIO = getattr(args, "stderr", None) or sys.stderr
    if not args.quiet:
        handler = logging.StreamHandler(err)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)

    def show(event: LiquidationEvent) -> None:
        if not args.quiet:
            row = event.recorder_row()
            print(
                f"{row['time_utc']} {event.symbol:<10} {event.side:<5} {event.filled_qty:>12g} @ "
                f"{event.price:>12g} ≈ {event.notional_usd:,.0f} USD",
                file=out,
                flush=True,
            )

    symbols = [s for s in str(args.symbols).split(",") if s.strip()]
    print(f"Recording {', '.join(symbols)} liquidations to {args.out}; Ctrl-C stops.", file=err, flush=True)
    try:
        stats = asyncio.run(
            _until_stopped(
                record_liquidations(
                    symbols, args.out, stream_url=args.url, max_events=args.max_events, on_event=show
                )
            )
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(f"Stopped. Rows are in {args.out}; gaps in {gaps_path_for(args.out)}.", file=err, flush=True)
        return 0
    except OSError as exc:  # e.g. the disk filled up while recording
        log.error("writing the recording failed", exc_info=exc)
        print(
            f"error: writing to {args.out} failed ({exc.strerror or type(exc).__name__}); the rows written before "
            "are kept.",
            file=err,
            flush=True,
        )
        return 1
    print(f"Recorded {stats.events} events to {args.out} ({stats.gaps} gaps logged).", file=err, flush=True)
    return 0
