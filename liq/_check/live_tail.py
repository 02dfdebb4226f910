"""The live tail: one process-wide subscription to Binance's all-market liquidation stream.

:func:`shared_tail` starts, on its first call, one background thread that runs an asyncio loop subscribed to
``!forceOrder@arr`` through python-binance's futures multiplex socket (the ``/market`` route the recorder uses,
``wss://fstream.binance.com/market/stream?streams=!forceOrder@arr``). Every later caller, from any session or
thread, gets the same tail: a server has one socket, however many people watch.

What it keeps
    A bounded in-memory buffer per symbol: events of the last :data:`KEEP_HOURS` hours, at most
    :data:`MAX_EVENTS_PER_SYMBOL` per symbol (the oldest go first) and :data:`MAX_EVENTS_TOTAL` in all (the
    fullest symbol gives up its oldest tenth), for at most :data:`MAX_SYMBOLS` symbols. An event costs 26 bytes
    (a numpy record), so the buffer never grows past a few MB whatever the stream sends.
Reconnects
    A drop, a malformed frame (it kills the client's read loop) or a refusal is followed by exponential backoff
    with jitter (1 s doubling up to 60 s) and a new connection. Every interval without a connection after the
    first one is kept as a gap, so "no marker" there reads "not listening", not "no liquidation".
Status
    :meth:`LiveTail.status` says, in words the app can show, whether it is connected or why not (for example
    ``"unreachable: Binance refused the stream (HTTP 451) ..."``).

The URL is injectable: the ``url`` argument, else the environment variable :data:`URL_ENV`, else Binance.
Tests and the load benchmark point it at a websocket server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from .events import RecordedEvents, empty_events, events_frame, parse_force_order
from .recorder import DEFAULT_STREAM_URL, _backoff_s, _binance

__all__ = [
    "ALL_MARKET_STREAM",
    "KEEP_HOURS",
    "MAX_EVENTS_PER_SYMBOL",
    "MAX_EVENTS_TOTAL",
    "MAX_SYMBOLS",
    "URL_ENV",
    "LiveTail",
    "TailStatus",
    "shared_tail",
    "stop_shared_tail",
]

log = logging.getLogger(__name__)

#: The all-market liquidation stream (every symbol, at most one event per symbol per second).
ALL_MARKET_STREAM = "!forceOrder@arr"
#: Environment variable that overrides the stream host (a ``ws://`` or ``wss://`` base URL ending in ``/``).
URL_ENV = "LIQ_FORCE_ORDER_URL"
#: How long events are kept, hours.
KEEP_HOURS = 24.0
#: Hard cap on events kept per symbol.
MAX_EVENTS_PER_SYMBOL = 20_000
#: Hard cap on events kept in all.
MAX_EVENTS_TOTAL = 200_000
#: Hard cap on the number of symbols kept (Binance lists a few hundred perpetuals).
MAX_SYMBOLS = 1_000
#: Gaps kept (the oldest go first).
MAX_GAPS = 500
#: Messages python-binance may queue before its read loop gives up (a burst beyond it is a reconnect).
_QUEUE_SIZE = 5_000

_RECORD = np.dtype([("time_ms", "<i8"), ("price", "<f8"), ("qty", "<f8"), ("long", "?"), ("avg", "?")])
_MIN_CAPACITY = 16

State = Literal["starting", "connected", "reconnecting", "unreachable", "stopped"]


class _Ring:
    """Events of one symbol in arrival order: a numpy ring that grows by doubling up to ``cap``."""

    __slots__ = ("cap", "data", "size", "start")

    def __init__(self, cap: int) -> None:
        self.cap = max(1, int(cap))
        self.data = np.empty(min(_MIN_CAPACITY, self.cap), dtype=_RECORD)
        self.start = 0
        self.size = 0

    def ordered(self) -> npt.NDArray[Any]:
        """A copy of the events, oldest first."""
        idx = (self.start + np.arange(self.size)) % len(self.data)
        return self.data[idx]

    def _reset(self, kept: npt.NDArray[Any], capacity: int) -> None:
        self.data = np.empty(max(capacity, len(kept), 1), dtype=_RECORD)
        self.data[: len(kept)] = kept
        self.start, self.size = 0, len(kept)

    def append(self, record: tuple[int, float, float, bool, bool]) -> int:
        """Add one event; returns how many old events it pushed out (0 or 1)."""
        if self.size == len(self.data) and len(self.data) < self.cap:
            self._reset(self.ordered(), min(self.cap, 2 * len(self.data)))
        if self.size < len(self.data):
            self.data[(self.start + self.size) % len(self.data)] = record
            self.size += 1
            return 0
        self.data[self.start] = record
        self.start = (self.start + 1) % len(self.data)
        return 1

    def keep(self, mask: npt.NDArray[np.bool_]) -> int:
        """Keep the events where ``mask`` (over :meth:`ordered`) holds; returns how many went."""
        gone = int(self.size - mask.sum())
        if gone:
            kept = self.ordered()[mask]
            self._reset(kept, max(_MIN_CAPACITY, min(self.cap, 2 * len(kept))))
        return gone

    def drop_oldest(self, n: int) -> int:
        mask = np.arange(self.size) >= n
        return self.keep(mask)

    def drop_before(self, t_ms: int) -> int:
        return self.keep(self.ordered()["time_ms"] >= t_ms) if self.size else 0

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)


class _Buffers:
    """The per-symbol rings and the caps (not thread-safe: :class:`LiveTail` holds the lock)."""

    def __init__(self, keep_s: float, per_symbol: int, total: int, symbols: int) -> None:
        self.keep_ms = int(keep_s * 1000)
        self.per_symbol, self.total_cap, self.symbols_cap = per_symbol, total, symbols
        self.rings: dict[str, _Ring] = {}
        self.total = 0
        self.dropped = 0
        self._last_prune_ms = 0

    def add(self, symbol: str, record: tuple[int, float, float, bool, bool], now_ms: int) -> None:
        ring = self.rings.get(symbol)
        if ring is None:
            if len(self.rings) >= self.symbols_cap:
                self.dropped += 1
                return
            ring = self.rings[symbol] = _Ring(self.per_symbol)
        pushed = ring.append(record)
        self.total += 1 - pushed
        self.dropped += pushed
        if self.total > self.total_cap:
            self._shed()
        if now_ms - self._last_prune_ms > 10_000:
            self.prune(now_ms)

    def _shed(self) -> None:
        """Over the total cap: the fullest symbol gives up its oldest tenth of the cap."""
        fullest = max(self.rings.values(), key=lambda r: r.size)
        gone = fullest.drop_oldest(max(self.total - self.total_cap, self.total_cap // 10, 1))
        self.total -= gone
        self.dropped += gone

    def prune(self, now_ms: int) -> None:
        """Forget events older than the keep period, and symbols left with none."""
        self._last_prune_ms = now_ms
        cutoff = now_ms - self.keep_ms
        for symbol in list(self.rings):
            ring = self.rings[symbol]
            gone = ring.drop_before(cutoff)
            self.total -= gone
            if ring.size == 0:
                del self.rings[symbol]

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.rings.values())


@dataclass(frozen=True)
class TailStatus:
    """What the live tail is doing, for the app to show.

    Attributes
    ----------
    state : str
        ``"starting"``, ``"connected"``, ``"reconnecting"`` (it was connected and lost it), ``"unreachable"``
        (it never got a connection, or the host refuses it) or ``"stopped"``.
    message : str
        The state in plain words, e.g. ``"connected"`` or ``"unreachable: no connection to the stream ..."``.
    listening_since : Timestamp or None
        When the first connection opened (UTC); nothing before it was heard.
    events_received, events_kept, events_dropped, malformed : int
        Counters: events parsed, events in the buffer now, events pushed out by the caps, messages skipped.
    connections : int
        Connections opened so far.
    revision : int
        Grows with every new event or change of state (a cache key for "something new to draw").
    buffer_bytes : int
        Memory held by the event buffers.
    """

    state: State
    message: str
    listening_since: pd.Timestamp | None
    events_received: int
    events_kept: int
    events_dropped: int
    malformed: int
    connections: int
    revision: int
    buffer_bytes: int


class _Dropped(Exception):
    """The client's read loop reported an error frame: the connection dropped or a frame was unreadable."""


def _describe_failure(err: BaseException, host: str) -> tuple[bool, str]:
    """(refused?, plain words) for a connection failure."""
    response = getattr(err, "response", None)
    code = getattr(response, "status_code", None) or getattr(err, "status_code", None)
    if code in (403, 451):
        return True, (
            f"Binance refused the liquidation stream (HTTP {code}): it does not serve this server's location. "
            "Recorded liquidations (built-in or uploaded) can still be shown."
        )
    if code is not None:
        return False, f"the stream host answered HTTP {code}; retrying with backoff."
    if isinstance(err, _Dropped):
        return False, "the stream connection dropped or sent an unreadable frame; reconnecting with backoff."
    if isinstance(err, OSError):
        return False, f"no connection to {host} ({type(err).__name__}); retrying with backoff."
    return False, f"the connection failed or dropped ({type(err).__name__}); retrying with backoff."


class LiveTail:
    """A background subscription to the all-market liquidation stream, with bounded buffers.

    Parameters
    ----------
    url : str, optional
        Stream host (python-binance appends ``market/stream?streams=!forceOrder@arr``). Default: the
        environment variable :data:`URL_ENV`, else ``wss://fstream.binance.com/``.
    keep_hours : float
        Events older than this are forgotten.
    max_per_symbol, max_total, max_symbols : int
        Hard caps of the buffer (see the module docstring).
    backoff_initial_s, backoff_max_s : float
        Reconnect backoff: first wait and cap, seconds.
    clock : callable
        Seconds since the epoch (tests pass a fake clock to age events out).

    Notes
    -----
    Call :meth:`start` (idempotent) to connect; :func:`shared_tail` does this for the process-wide tail.
    Every reader method is thread-safe and returns copies.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        keep_hours: float = KEEP_HOURS,
        max_per_symbol: int = MAX_EVENTS_PER_SYMBOL,
        max_total: int = MAX_EVENTS_TOTAL,
        max_symbols: int = MAX_SYMBOLS,
        backoff_initial_s: float = 1.0,
        backoff_max_s: float = 60.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        base = url or os.environ.get(URL_ENV) or DEFAULT_STREAM_URL
        self.url = base if base.endswith("/") else base + "/"
        self._clock = clock
        self._backoff = (float(backoff_initial_s), float(backoff_max_s))
        self._lock = threading.Lock()
        self._buf = _Buffers(keep_hours * 3600.0, max_per_symbol, max_total, max_symbols)
        self._gaps: list[tuple[int, int | None, str]] = []  # (start ms, end ms or None while open, reason)
        self._state: State = "starting"
        self._message = "starting"
        self._since_ms: int | None = None
        self._counts = {"received": 0, "malformed": 0, "connections": 0, "revision": 0}
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._task: asyncio.Task[Any] | None = None
        self._stopping = threading.Event()

    # -- life cycle ---------------------------------------------------------------------------------------
    def start(self) -> LiveTail:
        """Start the background thread (once; later calls do nothing). Returns the tail."""
        with self._lock:
            if self._thread is None and not self._stopping.is_set():
                self._thread = threading.Thread(target=self._thread_main, name="liq-live-tail", daemon=True)
                self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        """Close the connection and end the thread (waits at most ``timeout_s``)."""
        self._stopping.set()
        loop, stop, task = self._loop, self._stop, self._task
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
                if task is not None:
                    loop.call_soon_threadsafe(task.cancel)
            except RuntimeError:  # the loop already closed
                pass
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._set_state("stopped", "stopped")

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # never let the thread die with a traceback on stderr
            log.exception("the live liquidation tail stopped unexpectedly")
            self._set_state("stopped", "stopped after an unexpected error (see the server log)")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._task = asyncio.current_task()
        if self._stopping.is_set():
            return
        AsyncClient, BinanceSocketManager = _binance()
        client = AsyncClient()
        try:
            await self._run(BinanceSocketManager, client)
        except asyncio.CancelledError:  # stop(): the pump may be waiting for a message that never comes
            pass
        finally:
            self._close_gap_on_stop()
            await client.close_connection()

    async def _run(self, socket_manager: Any, client: Any) -> None:
        """Connect, pump, back off and reconnect until stopped."""
        assert self._stop is not None
        attempt = 0
        while not self._stop.is_set():
            bsm = socket_manager(client, max_queue_size=_QUEUE_SIZE)
            bsm.FSTREAM_URL = self.url  # injectable host; python-binance adds the /market route
            socket = bsm.futures_multiplex_socket([ALL_MARKET_STREAM])
            socket.MAX_RECONNECTS = 0  # reconnect here, so every gap is seen
            socket.TIMEOUT = 1
            try:
                async with socket as ws:
                    self._connected()
                    attempt = 0
                    await self._pump(ws)
            except Exception as err:  # any failure: note the gap, back off, reconnect
                await self._back_off(err, attempt)
                attempt += 1

    # -- events ----------------------------------------------------------------------------------------------
    async def _pump(self, ws: Any) -> None:
        assert self._stop is not None
        while not self._stop.is_set():
            msg = await ws.recv()
            if isinstance(msg, Mapping) and msg.get("e") == "error":
                raise _Dropped(f"{msg.get('type')}: {str(msg.get('m'))[:120]}")
            self._take(msg)

    def _take(self, msg: object) -> None:
        data = msg.get("data", msg) if isinstance(msg, Mapping) else msg
        bodies = data if isinstance(data, list) else [data]
        now_ms = int(self._clock() * 1000)
        with self._lock:
            for body in bodies[:1000]:
                event = parse_force_order(body)
                if event is None:
                    self._counts["malformed"] += 1
                    continue
                record = (
                    event.time_ms,
                    event.price,
                    event.filled_qty,
                    event.side == "long",
                    event.price_kind == "avg",
                )
                self._buf.add(event.symbol, record, now_ms)
                self._counts["received"] += 1
            self._counts["revision"] += 1

    # -- connection state -----------------------------------------------------------------------------------
    def _set_state(self, state: State, message: str) -> None:
        with self._lock:
            self._state, self._message = state, message
            self._counts["revision"] += 1

    def _connected(self) -> None:
        now_ms = int(self._clock() * 1000)
        with self._lock:
            self._counts["connections"] += 1
            if self._since_ms is None:
                self._since_ms = now_ms
            if self._gaps and self._gaps[-1][1] is None:
                start, _, reason = self._gaps[-1]
                self._gaps[-1] = (start, now_ms, reason)
        self._set_state("connected", "connected")
        log.info("live liquidation tail connected to %s", self.url)

    async def _back_off(self, err: Exception, attempt: int) -> None:
        now_ms = int(self._clock() * 1000)
        refused, words = _describe_failure(err, self.url.split("/")[2] if "//" in self.url else self.url)
        with self._lock:
            was_connected = self._since_ms is not None
            if was_connected and not (self._gaps and self._gaps[-1][1] is None):
                self._gaps.append((now_ms, None, words[:200]))
                del self._gaps[:-MAX_GAPS]
        state: State = "reconnecting" if was_connected and not refused else "unreachable"
        self._set_state(state, f"{state}: {words}")
        wait_s = _backoff_s(attempt, *self._backoff)
        if refused:
            wait_s = max(wait_s, self._backoff[1] / 2)  # a refusal does not go away in seconds
        log.warning(
            "live liquidation tail: %s (%s: %.200s); next try in %.1f s",
            words,
            type(err).__name__,
            err,
            wait_s,
        )
        assert self._stop is not None
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=wait_s)
        except asyncio.TimeoutError:
            pass

    def _close_gap_on_stop(self) -> None:
        now_ms = int(self._clock() * 1000)
        with self._lock:
            if self._gaps and self._gaps[-1][1] is None:
                start, _, reason = self._gaps[-1]
                self._gaps[-1] = (start, now_ms, reason + " (tail stopped)")

    # -- readers ---------------------------------------------------------------------------------------------
    def status(self) -> TailStatus:
        """The current state and counters (see :class:`TailStatus`)."""
        with self._lock:
            since = None if self._since_ms is None else pd.Timestamp(self._since_ms, unit="ms", tz="UTC")
            return TailStatus(
                state=self._state,
                message=self._message,
                listening_since=since,
                events_received=self._counts["received"],
                events_kept=self._buf.total,
                events_dropped=self._buf.dropped,
                malformed=self._counts["malformed"],
                connections=self._counts["connections"],
                revision=self._counts["revision"],
                buffer_bytes=self._buf.nbytes,
            )

    def events(self, symbol: str) -> pd.DataFrame:
        """The buffered events of ``symbol`` (:data:`liq._check.events.LIQUIDATION_COLUMNS`, by time)."""
        sym = str(symbol).strip().upper()
        with self._lock:
            self._buf.prune(int(self._clock() * 1000))
            ring = self._buf.rings.get(sym)
            rec = ring.ordered() if ring is not None else None
        if rec is None or len(rec) == 0:
            return empty_events()
        side = np.where(rec["long"], "long", "short")
        return events_frame(
            rec["time_ms"], np.full(len(rec), sym, dtype=object), side, rec["price"], rec["qty"], rec["avg"]
        )

    def gaps(self) -> pd.DataFrame:
        """``start, end, reason``: intervals without a connection since the first one (an open gap ends now)."""
        now_ms = int(self._clock() * 1000)
        with self._lock:
            rows = [(s, now_ms if e is None else e, r) for s, e, r in self._gaps]
        return pd.DataFrame(
            {
                "start": pd.to_datetime([r[0] for r in rows], unit="ms", utc=True).as_unit("ns"),
                "end": pd.to_datetime([r[1] for r in rows], unit="ms", utc=True).as_unit("ns"),
                "reason": pd.Series([r[2] for r in rows], dtype=object),
            }
        )

    def recording(self, symbol: str) -> RecordedEvents:
        """The tail's events of ``symbol`` with the windows it listened in (its first connection up to now,
        minus the gaps, within the keep period)."""
        now_ms = int(self._clock() * 1000)
        with self._lock:
            since = self._since_ms
        if since is None:
            windows = _windows([], [])
        else:
            start_ms = max(since, now_ms - self._buf.keep_ms)
            gaps = self.gaps()
            g_start = (gaps["start"].astype("int64") // 1_000_000).to_numpy()
            g_end = (gaps["end"].astype("int64") // 1_000_000).to_numpy()
            starts = np.r_[start_ms, g_end]
            ends = np.r_[g_start, now_ms]
            ok = ends > np.maximum(starts, start_ms)
            windows = _windows(np.maximum(starts, start_ms)[ok], ends[ok])
        return RecordedEvents(self.events(symbol), windows, "the live Binance liquidation stream")


def _windows(start_ms: npt.ArrayLike, end_ms: npt.ArrayLike) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "start": pd.to_datetime(np.asarray(start_ms, dtype=np.int64), unit="ms", utc=True).as_unit("ns"),
            "end": pd.to_datetime(np.asarray(end_ms, dtype=np.int64), unit="ms", utc=True).as_unit("ns"),
        }
    )


_shared: LiveTail | None = None
_shared_lock = threading.Lock()


def shared_tail(url: str | None = None) -> LiveTail:
    """The process-wide live tail, created and started by the first call; every caller shares it.

    ``url`` (or :data:`URL_ENV`) only matters on the first call.
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LiveTail(url).start()
        return _shared


def stop_shared_tail() -> None:
    """Stop and forget the process-wide tail (tests; a later :func:`shared_tail` starts a new one)."""
    global _shared
    with _shared_lock:
        tail, _shared = _shared, None
    if tail is not None:
        tail.stop()
