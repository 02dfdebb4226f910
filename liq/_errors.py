"""The project's exception types.

Every error that a user can cause or meet is one of these, with a message written for a trader, not a
programmer: what happened, and what to do about it. Pages show ``str(err)`` in ``st.error`` /
``st.warning``; they never show a traceback.
"""

from __future__ import annotations

__all__ = [
    "DataValidationError",
    "GeoBlockedError",
    "InvalidSymbolError",
    "LiqError",
    "NetworkError",
    "NoDataError",
    "RateLimitError",
    "RecorderError",
    "SourceError",
]


class LiqError(Exception):
    """Base class of every error this package raises on purpose."""


class DataValidationError(LiqError, ValueError):
    """Input data (candles, open interest, an upload, a recording) is not usable as given."""


class SourceError(LiqError):
    """A market-data source could not deliver (network, API, archive)."""


class NetworkError(SourceError):
    """The network is down, a host refused the connection, or a request timed out."""


class GeoBlockedError(SourceError):
    """Binance answered HTTP 451: the API is not available from this location."""


class RateLimitError(SourceError):
    """Binance kept answering 429/418 (too many requests) after the allowed retries."""


class InvalidSymbolError(SourceError, ValueError):
    """The symbol is not a Binance USDⓈ-M perpetual (API code -1121, or not in exchange info)."""


class NoDataError(SourceError):
    """The source answered, but there is no data for the requested symbol and time range."""


class RecorderError(LiqError):
    """The liquidation recorder cannot write where it was told to (bad path, no permission, file in use)."""
