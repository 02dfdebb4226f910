"""Live Binance USDⓈ-M market data through python-binance (REST only, no API key needed).

- The client is built with ``Client(ping=False)``: the default constructor pings the *spot* API, which fails
  offline and is useless here.
- Every request has a timeout (10 s by default).
- The symbol is checked against ``futures_exchange_info`` (cached in-process for an hour) before any other call.
- Klines come from ``futures_klines`` in pages of up to 1,500 candles, walking forward by ``startTime``.
- Open interest comes from ``futures_open_interest_hist`` in pages of up to 500 rows. Binance keeps only the
  last 30 days of it; for older ranges the note says so and the candles come without (or with partial) OI.
- HTTP 429/418 are retried a bounded number of times, waiting as long as ``Retry-After`` asks (up to a cap).
- Every failure is turned into one of the project's exception types with a message for traders.
"""

from __future__ import annotations

import asyncio
import difflib
import math
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import requests

from .._errors import (
    GeoBlockedError,
    InvalidSymbolError,
    NetworkError,
    NoDataError,
    RateLimitError,
    SourceError,
)
from ._common import (
    BINANCE_KLINE_COLUMNS,
    INTERVAL_MS,
    MarketData,
    ProgressFn,
    check_request,
    kline_rows_frame,
    ms_to_utc,
)
from ._http import DeadlineSession, describe_failure

__all__ = [
    "EXCHANGE_INFO_TTL_S",
    "KLINES_PAGE_LIMIT",
    "OI_HISTORY_DAYS",
    "OI_PAGE_LIMIT",
    "BinanceLive",
    "RetryPolicy",
    "clear_symbol_cache",
    "load_live",
]

#: Most klines Binance returns per request.
KLINES_PAGE_LIMIT = 1500
#: Most open-interest rows Binance returns per request.
OI_PAGE_LIMIT = 500
#: Binance serves open-interest history for the last 30 days only.
OI_HISTORY_DAYS = 30
#: How long the perpetual-symbol list stays cached in this process.
EXCHANGE_INFO_TTL_S = 3600.0
#: Default request timeout.
DEFAULT_TIMEOUT_S = 10.0

_DAY_MS = 86_400_000
_OI_PERIOD = {"1m": "5m", "5m": "5m", "15m": "15m", "1h": "1h", "4h": "4h", "1d": "1d"}

# Replaced in tests so that backoff does not really wait.
_sleep: Callable[[float], None] = time.sleep

_symbol_cache: dict[str, tuple[float, frozenset[str]]] = {}
_symbol_cache_lock = threading.Lock()


def clear_symbol_cache() -> None:
    """Forget the cached perpetual-symbol list (the next live call fetches exchange info again)."""
    with _symbol_cache_lock:
        _symbol_cache.clear()


def _binance() -> tuple[Any, type[Exception], type[Exception]]:
    """Import python-binance lazily; its import emits a third-party DeprecationWarning we silence here."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from binance.client import Client
        from binance.exceptions import BinanceAPIException, BinanceRequestException
    return Client, BinanceAPIException, BinanceRequestException


def _thread_has_no_event_loop() -> bool:
    """True in a worker thread (e.g. Streamlit's script thread) that has no asyncio event loop yet."""
    if threading.current_thread() is threading.main_thread():
        return False
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.get_event_loop()
    except RuntimeError:
        return True
    return False


def _discard_event_loop(client: Any) -> None:
    """Close the event loop python-binance's constructor made for this thread.

    The REST calls used here are synchronous and never touch it; left open, it would leak a socket pair
    when the thread ends.
    """
    loop = getattr(client, "loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop) and not loop.is_running() and not loop.is_closed():
        loop.close()
        asyncio.set_event_loop(None)


def _use_deadline_session(client: Any, timeout_s: float) -> None:
    """Give the client a session whose requests each end within ``timeout_s`` (connect, headers and body)."""
    session = DeadlineSession(timeout_s)
    old = getattr(client, "session", None)
    if isinstance(old, requests.Session):
        session.headers.update(old.headers)
        old.close()
    client.session = session


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded backoff for HTTP 429/418 (rate limit / IP ban) and 5xx answers.

    Attributes
    ----------
    max_retries : int
        Retries after the first attempt.
    base_delay_s : float
        First wait when the server sends no ``Retry-After``; doubles each retry.
    max_wait_s : float
        Longest single wait; a ``Retry-After`` above it gives up at once with RateLimitError.
    """

    max_retries: int = 3
    base_delay_s: float = 1.0
    max_wait_s: float = 30.0


def _retry_after_s(response: object) -> float | None:
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    value = headers.get("Retry-After")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _rate_limit_text(status: int, what: str, asked_s: float | None, retries: int) -> str:
    """Why live gave up on HTTP 429/418, quoting Binance's wait only when it sent one."""
    kind = "has temporarily banned this address" if status == 418 else "is rate-limiting requests"
    if asked_s is not None:
        told = f"it asks to wait {asked_s:g} s"
    else:
        told = f"it gave no time to wait, and {retries} retr{'y' if retries == 1 else 'ies'} did not help"
    return (
        f"Binance {kind} (HTTP {status}) while {what}; {told}. Wait a few minutes before loading again, or use "
        "the archive or sample source."
    )


def _fmt_ms(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


class BinanceLive:
    """A small, error-mapped wrapper around python-binance's futures market-data calls.

    Parameters
    ----------
    timeout_s : float
        Per-request timeout.
    retry : RetryPolicy
        Backoff for 429/418/5xx.
    sleep : callable(float), optional
        Used to wait between retries (default ``time.sleep``).
    clock : callable() -> float
        Monotonic seconds, for the symbol-cache TTL.
    client : object, optional
        A ready python-binance ``Client`` (default: ``Client(ping=False)`` with the timeout).
    """

    def __init__(
        self,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        client: Any = None,
    ) -> None:
        client_cls, self._api_exc, self._request_exc = _binance()
        if client is None:
            fresh_thread = _thread_has_no_event_loop()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                client = client_cls(ping=False, requests_params={"timeout": timeout_s})
            if fresh_thread:
                _discard_event_loop(client)
            _use_deadline_session(client, timeout_s)
        self.client = client
        self.timeout_s = timeout_s
        self.retry = retry if retry is not None else RetryPolicy()
        self._sleep = sleep
        self._clock = clock

    def close(self) -> None:
        """Close the HTTP session of the underlying client."""
        closer = getattr(self.client, "close_connection", None)
        if callable(closer):
            closer()

    # -- one request, with backoff and error mapping ------------------------------------------------
    def _wait(self, seconds: float) -> None:
        (self._sleep or _sleep)(seconds)

    def call(
        self, what: str, fn: Callable[..., Any], progress: ProgressFn | None = None, **params: Any
    ) -> Any:
        """Run one python-binance call; retry 429/418/5xx within the policy; map failures to LiqErrors."""
        policy = self.retry
        for attempt in range(policy.max_retries + 1):
            try:
                return fn(**params)
            except requests.exceptions.Timeout as exc:
                raise NetworkError(
                    f"{describe_failure(exc, 'Binance', self.timeout_s)} while {what}. The connection is slow "
                    "or blocked; try again in a minute."
                ) from None
            except requests.exceptions.RequestException as exc:
                raise NetworkError(
                    f"{_upper_first(describe_failure(exc, 'Binance', self.timeout_s))} while {what}."
                ) from None
            except self._request_exc:
                raise SourceError(
                    f"Binance sent a reply that is not valid data while {what}. This is usually temporary; "
                    "try again in a minute."
                ) from None
            except self._api_exc as exc:
                status = int(getattr(exc, "status_code", 0) or 0)
                code = getattr(exc, "code", None)
                message = getattr(exc, "message", "") or ""
                if status == 451:
                    raise GeoBlockedError(
                        "Binance refuses requests from this location (HTTP 451: restricted location), so live "
                        "data is not available here."
                    ) from None
                if code == -1121:
                    symbol = params.get("symbol", "this symbol")
                    raise InvalidSymbolError(
                        f"Binance does not know the symbol {symbol}. Check the spelling, e.g. BTCUSDT."
                    ) from None
                if status in (429, 418):
                    asked = _retry_after_s(getattr(exc, "response", None))
                    wait = asked if asked is not None else policy.base_delay_s * 2**attempt
                    if attempt >= policy.max_retries or wait > policy.max_wait_s:
                        raise RateLimitError(_rate_limit_text(status, what, asked, attempt)) from None
                    if progress is not None:
                        progress(f"Binance asked to slow down (HTTP {status}); waiting {wait:g} s…")
                    self._wait(wait)
                    continue
                if status >= 500:
                    if attempt >= policy.max_retries:
                        raise SourceError(
                            f"Binance's servers answered with an error (HTTP {status}) while {what}. "
                            "Try again in a few minutes."
                        ) from None
                    self._wait(min(policy.base_delay_s * 2**attempt, policy.max_wait_s))
                    continue
                raise SourceError(
                    f"Binance rejected the request while {what} (HTTP {status}, code {code}: {message})."
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- symbols -------------------------------------------------------------------------------------
    def perpetual_symbols(self, progress: ProgressFn | None = None) -> frozenset[str]:
        """USDⓈ-M perpetual symbols from exchange info (cached for EXCHANGE_INFO_TTL_S in this process)."""
        key = str(getattr(self.client, "FUTURES_URL", "default"))
        now = self._clock()
        with _symbol_cache_lock:
            hit = _symbol_cache.get(key)
        if hit is not None and now - hit[0] < EXCHANGE_INFO_TTL_S:
            return hit[1]
        info = self.call("reading the symbol list", self.client.futures_exchange_info, progress)
        symbols = _perpetuals(info)
        with _symbol_cache_lock:
            _symbol_cache[key] = (now, symbols)
        return symbols

    def check_symbol(self, symbol: str, progress: ProgressFn | None = None) -> None:
        """Raise InvalidSymbolError unless ``symbol`` is a listed USDⓈ-M perpetual."""
        symbols = self.perpetual_symbols(progress)
        if symbol in symbols:
            return
        close = difflib.get_close_matches(symbol, sorted(symbols), n=3)
        hint = f" Did you mean {' or '.join(close)}?" if close else " Check the spelling, e.g. BTCUSDT."
        raise InvalidSymbolError(f"{symbol} is not a Binance USDⓈ-M perpetual contract.{hint}")

    # -- klines --------------------------------------------------------------------------------------
    def klines(
        self, symbol: str, interval: str, start_ms: int, end_ms: int, progress: ProgressFn | None = None
    ) -> pd.DataFrame:
        """Candles with open time in ``[start_ms, end_ms)``, fetched in pages of KLINES_PAGE_LIMIT."""
        step = INTERVAL_MS[interval]
        pages = max(1, math.ceil((end_ms - start_ms) / step / KLINES_PAGE_LIMIT))
        rows: list[list[Any]] = []
        cursor = start_ms
        page = 0
        while cursor < end_ms and page < pages + 3:
            page += 1
            if progress is not None:
                progress(f"Fetching klines {page}/{max(pages, page)} pages…")
            data = self.call(
                "fetching candles",
                self.client.futures_klines,
                progress,
                symbol=symbol,
                interval=interval,
                startTime=cursor,
                endTime=end_ms - 1,
                limit=KLINES_PAGE_LIMIT,
            )
            if not isinstance(data, list):
                raise SourceError(
                    "Binance's candle data came back in an unexpected shape; try again in a minute."
                )
            if not data:
                break
            for row in data:
                if not isinstance(row, list) or len(row) < 11:
                    raise SourceError(
                        "Binance's candle data came back in an unexpected shape (a row is not a 12-field "
                        "kline); try again in a minute."
                    )
            rows.extend(data)
            nxt = int(data[-1][0]) + step
            if nxt <= cursor or len(data) < KLINES_PAGE_LIMIT:
                break
            cursor = nxt
        return _klines_frame(rows, start_ms, end_ms)

    # -- open interest -------------------------------------------------------------------------------
    def open_interest(
        self,
        symbol: str,
        interval: str,
        start_ms: int,
        end_ms: int,
        now_ms: int,
        progress: ProgressFn | None = None,
    ) -> tuple[pd.DataFrame | None, str]:
        """Open-interest USD for ``[start_ms, end_ms)`` within Binance's 30-day window, plus a note."""
        period = _OI_PERIOD[interval]
        period_ms = INTERVAL_MS[period]
        oldest_ms = now_ms - OI_HISTORY_DAYS * _DAY_MS + period_ms
        oldest_ms = -(-oldest_ms // period_ms) * period_ms  # round up to a whole period
        first_ms = max(start_ms, oldest_ms)
        if first_ms >= end_ms:
            return None, (
                f"Binance keeps open interest for the last {OI_HISTORY_DAYS} days only; this range is older, "
                "so there is no open interest for it."
            )
        window_ms = OI_PAGE_LIMIT * period_ms
        pages = max(1, math.ceil((end_ms - first_ms) / window_ms))
        rows: list[dict[str, Any]] = []
        for page, cursor in enumerate(range(first_ms, end_ms, window_ms), start=1):
            if progress is not None:
                progress(f"Fetching open interest {page}/{pages} pages…")
            data = self.call(
                "fetching open interest",
                self.client.futures_open_interest_hist,
                progress,
                symbol=symbol,
                period=period,
                startTime=cursor,
                endTime=min(cursor + window_ms, end_ms) - 1,
                limit=OI_PAGE_LIMIT,
            )
            if not isinstance(data, list) or not all(
                isinstance(r, dict) and "timestamp" in r and "sumOpenInterestValue" in r for r in data
            ):
                raise SourceError(
                    "Binance's open-interest data came back in an unexpected shape; try again in a minute."
                )
            rows.extend(data)
        if not rows:
            return None, "Binance returned no open interest for this range."
        ts = np.array([int(float(r["timestamp"])) for r in rows], dtype=np.int64)
        usd = np.array([float(r["sumOpenInterestValue"]) for r in rows], dtype=np.float64)
        frame = pd.DataFrame({"time": ms_to_utc(ts), "open_interest_usd": usd})
        frame = frame.drop_duplicates("time").sort_values("time", ignore_index=True)
        note = f"Open interest: Binance {period} history."
        if first_ms > start_ms:
            note += (
                f" Binance keeps open interest for the last {OI_HISTORY_DAYS} days only, so it covers "
                f"{_fmt_ms(first_ms)} UTC onward, not the whole range."
            )
        return frame, note


def _perpetuals(info: object) -> frozenset[str]:
    """Perpetual symbols in an exchange-info answer; SourceError when the answer is not shaped like one.

    A list holding anything but symbol records is a fault of the source, not proof that a symbol is unknown.
    """
    rows = info.get("symbols") if isinstance(info, dict) else None
    if (
        not isinstance(rows, list)
        or not rows
        or not all(isinstance(r, dict) and isinstance(r.get("symbol"), str) for r in rows)
    ):
        raise SourceError("Binance's symbol list came back in an unexpected shape; try again in a minute.")
    return frozenset(r["symbol"] for r in rows if r.get("contractType", "PERPETUAL") == "PERPETUAL")


def _klines_frame(rows: list[list[Any]], start_ms: int, end_ms: int) -> pd.DataFrame:
    """Binance kline arrays (strings for prices) to engine columns, deduplicated and inside the range."""
    if not rows:
        return pd.DataFrame()
    try:
        frame = kline_rows_frame([r[: len(BINANCE_KLINE_COLUMNS)] for r in rows])
    except (TypeError, ValueError):
        raise SourceError(
            "Binance's candle data holds a value that is not a number; try again in a minute."
        ) from None
    ms = frame["open_time"].to_numpy("datetime64[ms]").astype(np.int64)
    keep = (ms >= start_ms) & (ms < end_ms)
    return frame[keep].drop_duplicates("open_time").sort_values("open_time", ignore_index=True)


def load_live(
    symbol: str,
    interval: str,
    start: datetime,
    end: datetime,
    *,
    progress: ProgressFn | None = None,
    now: datetime | None = None,
    live: BinanceLive | None = None,
) -> MarketData:
    """Candles and open interest for ``[start, end)`` from live Binance USDⓈ-M.

    Parameters
    ----------
    symbol, interval, start, end
        As in :func:`liq.load_market_data`.
    progress : callable(str), optional
        Status messages.
    now : datetime, optional
        Current time (tz-aware); decides which part of the range has open interest. Defaults to the clock.
    live : BinanceLive, optional
        Pre-built client wrapper (tests pass one with a fake sleep).

    Raises
    ------
    InvalidSymbolError, GeoBlockedError, NetworkError, RateLimitError, NoDataError, SourceError
    """
    req = check_request(symbol, interval, start, end, now)
    sym, iv, t0 = req.symbol, req.interval, req.start
    start_ms, end_ms, now_ms = (int(t.value // 1_000_000) for t in (req.start, req.end, req.now))
    end_ms = min(end_ms, now_ms + INTERVAL_MS[iv])  # nothing exists after the current candle
    if end_ms <= start_ms:
        raise NoDataError(
            f"The requested range starts in the future ({t0}); choose a range that has happened."
        )
    src = live if live is not None else BinanceLive()
    try:
        if progress is not None:
            progress("Checking the symbol with Binance…")
        src.check_symbol(sym, progress)
        candles = src.klines(sym, iv, start_ms, end_ms, progress)
        if candles.empty:
            raise NoDataError(
                f"Binance has no {iv} candles for {sym} between {_fmt_ms(start_ms)} and {_fmt_ms(end_ms)} UTC "
                "(the contract may not have been listed yet)."
            )
        try:
            oi, oi_note = src.open_interest(sym, iv, start_ms, end_ms, now_ms, progress)
        except (InvalidSymbolError, GeoBlockedError):
            raise
        except SourceError as exc:
            oi, oi_note = (
                None,
                f"Open interest could not be loaded ({exc}); the candles are shown without it.",
            )
    finally:
        if live is None:
            src.close()
    first, last = candles["open_time"].iloc[0], candles["open_time"].iloc[-1]
    note = (
        f"Live Binance USDⓈ-M: {sym} {iv}, {first:%Y-%m-%d %H:%M} → {last:%Y-%m-%d %H:%M} UTC "
        f"({len(candles)} candles). {oi_note}"
    )
    return MarketData(candles=candles, open_interest=oi, symbol=sym, interval=iv, source="live", note=note)


def live_symbols(*, timeout_s: float = 5.0) -> tuple[str, ...]:
    """Sorted Binance USDⓈ-M perpetual symbols that are trading now (from exchange info, cached an hour).

    Raises
    ------
    GeoBlockedError, NetworkError, RateLimitError, SourceError
        When live Binance cannot be reached from here.
    """
    return tuple(sorted(BinanceLive(timeout_s=timeout_s).perpetual_symbols()))
