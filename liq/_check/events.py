"""One liquidation event type, and the one conversion of a Binance ``forceOrder`` message into it.

The recorder (:mod:`liq._check.recorder`), the live tail (:mod:`liq._check.live_tail`) and the reader of
recordings and uploads (:func:`liq.load_liquidations`) all describe a liquidation the same way:

* :class:`LiquidationEvent` is one event as it arrives from the stream;
* :data:`LIQUIDATION_COLUMNS` is the table of many events (what :func:`liq.load_liquidations` returns, what the
  live tail hands out); :func:`events_frame` builds it from columns and :func:`to_frame` from events;
* :func:`parse_force_order` is the only message → event conversion; the rules it applies (which side was
  liquidated, which price is the fill price, what a sane value is) are the functions below, which the CSV
  reader applies to whole columns.

Binance's side is the side of the *liquidation order*: a ``SELL`` closes a long (a long was liquidated), a
``BUY`` closes a short.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from .._sources._common import CONTRACT_PATTERN, EARLIEST_TIME, LATEST_TIME, MAX_PRICE, MAX_VOLUME

__all__ = [
    "LIQUIDATION_COLUMNS",
    "SIDE_OF_ORDER",
    "LiquidationEvent",
    "RecordedEvents",
    "empty_events",
    "events_frame",
    "fill_price",
    "iso_utc",
    "parse_force_order",
    "sane_amounts",
    "to_frame",
]

#: Columns of a table of events (:func:`liq.load_liquidations`, the live tail), in order.
LIQUIDATION_COLUMNS: tuple[str, ...] = (
    "time",
    "symbol",
    "side",
    "price",
    "qty",
    "notional_usd",
    "price_kind",
)

#: Side that was liquidated, by the side of Binance's liquidation order (and the plain names, for tables).
SIDE_OF_ORDER: Mapping[str, str] = {"SELL": "long", "BUY": "short", "LONG": "long", "SHORT": "short"}

_CONTRACT = CONTRACT_PATTERN
_EARLIEST_MS = EARLIEST_TIME.value // 1_000_000
_LATEST_MS = LATEST_TIME.value // 1_000_000

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


def fill_price(avg_price: npt.ArrayLike, order_price: npt.ArrayLike) -> tuple[F64, B]:
    """The fill price of each event and where it is the average fill price ``ap``.

    ``ap`` when it was recorded and positive, else the order price ``p`` (the bankruptcy price, a little
    beyond the traded price).

    >>> price, used_avg = fill_price([94809.6, np.nan, 0.0], [94434.9, 3300.0, 3310.5])
    >>> price.tolist(), used_avg.tolist()
    ([94809.6, 3300.0, 3310.5], [True, False, False])
    """
    avg = np.asarray(avg_price, dtype=np.float64)
    order = np.asarray(order_price, dtype=np.float64)
    use_avg = np.isfinite(avg) & (avg > 0)
    return np.where(use_avg, avg, order), use_avg


def sane_amounts(price: npt.ArrayLike, qty: npt.ArrayLike) -> tuple[B, B]:
    """Masks of usable prices and quantities: finite, positive, at most ``MAX_PRICE`` / ``MAX_VOLUME``.

    >>> [m.tolist() for m in sane_amounts([1.0, 0.0, np.inf], [0.5, 0.5, -1.0])]
    [[True, False, False], [True, True, False]]
    """
    p = np.asarray(price, dtype=np.float64)
    q = np.asarray(qty, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return np.isfinite(p) & (p > 0) & (p <= MAX_PRICE), np.isfinite(q) & (q > 0) & (q <= MAX_VOLUME)


def iso_utc(ms: float) -> str:
    """Epoch milliseconds as the recorder writes times: ISO 8601 UTC with milliseconds.

    >>> iso_utc(1733330785584)
    '2024-12-04T16:46:25.584Z'
    """
    t = time.gmtime(ms / 1000.0)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(ms) % 1000:03d}Z"


def _text(x: float) -> str:
    """A number as the recorder writes it: the shortest text that reads back as the same float."""
    return repr(float(x))


@dataclass(frozen=True, slots=True)
class LiquidationEvent:
    """One liquidation as Binance broadcast it (the fields of a ``forceOrder`` message, typed).

    ``time_ms`` is the trade time ``T`` (the event time ``E`` when ``T`` is absent), epoch milliseconds UTC.
    Quantities are in the base asset, prices in the quote currency (USD for USDⓈ-M contracts).
    """

    time_ms: int
    event_time_ms: int
    symbol: str
    order_side: Literal["BUY", "SELL"]
    order_type: str
    time_in_force: str
    order_status: str
    orig_qty: float
    order_price: float
    avg_price: float
    last_filled_qty: float
    filled_qty: float

    @property
    def side(self) -> Literal["long", "short"]:
        """The side that was liquidated: ``"long"`` for a SELL order, ``"short"`` for a BUY."""
        return "long" if self.order_side == "SELL" else "short"

    @property
    def price(self) -> float:
        """The fill price (see :func:`fill_price`)."""
        return self.avg_price if self.avg_price > 0 else self.order_price

    @property
    def price_kind(self) -> Literal["avg", "order"]:
        """``"avg"`` when :attr:`price` is the average fill price, ``"order"`` when it is the order price."""
        return "avg" if self.avg_price > 0 else "order"

    @property
    def notional_usd(self) -> float:
        """Fill price × filled quantity."""
        return self.price * self.filled_qty

    def recorder_row(self) -> dict[str, str]:
        """The recorder's CSV row (:data:`liq._check.recorder.RECORDER_COLUMNS`): numbers as text that reads
        back exactly, times in epoch ms and ISO UTC."""
        return {
            "time_ms": str(self.time_ms),
            "time_utc": iso_utc(self.time_ms),
            "event_time_ms": str(self.event_time_ms),
            "symbol": self.symbol,
            "side": self.order_side,
            "order_type": self.order_type,
            "time_in_force": self.time_in_force,
            "orig_qty": _text(self.orig_qty),
            "price": _text(self.order_price),
            "avg_price": _text(self.avg_price),
            "order_status": self.order_status,
            "last_filled_qty": _text(self.last_filled_qty),
            "filled_accumulated_qty": _text(self.filled_qty),
        }


def _event(data: Mapping[str, object], order: Mapping[str, object]) -> LiquidationEvent:
    """The event of one forceOrder body (raises KeyError, TypeError or ValueError when a field is unusable)."""
    event_ms = int(str(data["E"]))
    return LiquidationEvent(
        time_ms=int(str(order.get("T", event_ms))),
        event_time_ms=event_ms,
        symbol=str(order["s"]).strip().upper(),
        order_side=str(order["S"]).strip().upper(),  # type: ignore[arg-type]  # checked in _usable
        order_type=str(order.get("o", "")),
        time_in_force=str(order.get("f", "")),
        order_status=str(order.get("X", "")),
        orig_qty=float(str(order.get("q", "nan"))),
        order_price=float(str(order.get("p", "nan"))),
        avg_price=float(str(order.get("ap", "nan"))),
        last_filled_qty=float(str(order.get("l", "nan"))),
        filled_qty=float(str(order["z"])),
    )


def _usable(ev: LiquidationEvent) -> bool:
    """The same rules :func:`liq.load_liquidations` applies to a recording's rows."""
    price_ok, qty_ok = sane_amounts([ev.price], [ev.filled_qty])
    return bool(
        ev.order_side in ("BUY", "SELL")
        and _CONTRACT.fullmatch(ev.symbol)
        and _EARLIEST_MS <= ev.time_ms <= _LATEST_MS
        and price_ok[0]
        and qty_ok[0]
    )


def parse_force_order(message: object) -> LiquidationEvent | None:
    """The event of a forceOrder message (raw, or wrapped in a combined-stream envelope).

    Returns ``None`` when the message is not a forceOrder event, lacks a field, or holds a value that a
    recording may not hold (a side other than BUY/SELL, a symbol that is not a contract name, a fill price or
    filled quantity that is missing, not positive or absurd, a time outside 2017-2100).

    Examples
    --------
    >>> msg = {"stream": "btcusdt@forceOrder", "data": {"e": "forceOrder", "E": 1568014460893, "o": {
    ...     "s": "BTCUSDT", "S": "SELL", "o": "LIMIT", "f": "IOC", "q": "0.014", "p": "9910",
    ...     "ap": "9910.1", "X": "FILLED", "l": "0.014", "z": "0.014", "T": 1568014460893}}}
    >>> ev = parse_force_order(msg)
    >>> ev.side, ev.price, ev.filled_qty, ev.recorder_row()["time_utc"]
    ('long', 9910.1, 0.014, '2019-09-09T07:34:20.893Z')
    >>> parse_force_order({"result": None, "id": 1}) is None
    True
    """
    if not isinstance(message, Mapping):
        return None
    data = message.get("data", message)
    if not isinstance(data, Mapping) or data.get("e") != "forceOrder":
        return None
    order = data.get("o")
    if not isinstance(order, Mapping):
        return None
    try:
        ev = _event(data, order)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    return ev if _usable(ev) else None


def events_frame(
    time: npt.ArrayLike,
    symbol: npt.ArrayLike,
    side: npt.ArrayLike,
    price: npt.ArrayLike,
    qty: npt.ArrayLike,
    used_avg: npt.ArrayLike,
) -> pd.DataFrame:
    """The table of events (:data:`LIQUIDATION_COLUMNS`) from columns, sorted by time (stable).

    ``time`` is epoch milliseconds UTC (integers) or datetimes (naive ones are UTC); ``side`` is ``"long"`` / ``"short"``; ``used_avg`` says where
    ``price`` is the average fill price.
    """
    p = np.asarray(price, dtype=np.float64)
    q = np.asarray(qty, dtype=np.float64)
    t = np.asarray(time)
    if t.dtype.kind in "iuf" or t.size == 0:
        times = pd.to_datetime(t.astype(np.int64), unit="ms", utc=True)
    else:
        times = pd.to_datetime(pd.Series(t), utc=True)
    out = pd.DataFrame(
        {
            "time": pd.DatetimeIndex(times).as_unit("ns"),
            "symbol": np.asarray(symbol, dtype=object),
            "side": np.asarray(side, dtype=object),
            "price": p,
            "qty": q,
            "notional_usd": p * q,
            "price_kind": np.where(np.asarray(used_avg, dtype=bool), "avg", "order").astype(object),
        }
    )
    return out.sort_values("time", kind="stable").reset_index(drop=True)


def empty_events() -> pd.DataFrame:
    """A table of no events, with the columns and dtypes of :data:`LIQUIDATION_COLUMNS`."""
    return events_frame([], [], [], [], [], [])


def to_frame(events: Iterable[LiquidationEvent]) -> pd.DataFrame:
    """The table of ``events`` (:data:`LIQUIDATION_COLUMNS`).

    >>> ev = LiquidationEvent(1733330785584, 1733330785587, "BTCUSDT", "BUY", "LIMIT", "IOC", "FILLED",
    ...                       0.5, 95000.0, 94809.6, 0.5, 0.5)
    >>> to_frame([ev])[["side", "price", "notional_usd", "price_kind"]].to_dict("records")
    [{'side': 'short', 'price': 94809.6, 'notional_usd': 47404.8, 'price_kind': 'avg'}]
    """
    evs = list(events)
    return events_frame(
        [e.time_ms for e in evs],
        [e.symbol for e in evs],
        [e.side for e in evs],
        [e.price for e in evs],
        [e.filled_qty for e in evs],
        [e.price_kind == "avg" for e in evs],
    )


@dataclass(frozen=True)
class RecordedEvents:
    """Recorded liquidations of one symbol and the time they cover.

    Attributes
    ----------
    events : DataFrame
        :data:`LIQUIDATION_COLUMNS`, sorted by time.
    windows : DataFrame
        ``start, end`` (UTC): the intervals in which the recording was listening. Outside them, no event
        means "not recorded", not "no liquidation".
    source : str
        Where the events come from, in plain words (e.g. "the built-in Dec 2024 BTCUSDT recording").
    """

    events: pd.DataFrame
    windows: pd.DataFrame
    source: str

    @property
    def notional_usd(self) -> float:
        """Total recorded USD."""
        return float(self.events["notional_usd"].sum())
