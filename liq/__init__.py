"""Liq. Heatmap & Levels: estimate where leveraged Binance USDⓈ-M positions would be liquidated.

The public API is small and re-exported here; everything else lives in private modules.

>>> import liq
>>> round(liq.liquidation_price(100_000, 100, "long", 0.004), 2)
99397.59
"""

from ._chart_payload import build_chart_payload
from ._check.model_check import (
    ModelCheck,
    model_check,
    partial_spearman,
    pool_checks,
    recording_windows,
    spearman,
)
from ._check.recordings import load_gaps, load_liquidations
from ._config import (
    BOUNDS,
    CLASSIC_LEVERAGE_WEIGHTS,
    DEFAULT_LEVERAGE_WEIGHTS,
    HIGH_LEVERAGE_WEIGHTS,
    LEVERAGE_PRESETS,
    MAX_TIERS,
    MMR_BRACKETS,
    MMR_BRACKETS_AS_OF,
    ModelConfig,
)
from ._engine import Estimate, Heatmap, TierAdjustment, estimate
from ._errors import (
    DataValidationError,
    GeoBlockedError,
    InvalidSymbolError,
    LiqError,
    NetworkError,
    NoDataError,
    RateLimitError,
    SourceError,
)
from ._format import format_level_label, format_usd
from ._formula import liquidation_price
from ._levels import Level, Summary
from ._screen import Screen, ScreenRow, screen, top_perpetuals
from ._sources._common import INTERVALS, Fallback, LoadResult, MarketData
from ._sources.chain import load_market_data
from ._sources.live import live_symbols
from ._sources.sample import sample_symbols
from ._sources.upload import load_upload

__all__ = [
    "BOUNDS",
    "MAX_TIERS",
    "CLASSIC_LEVERAGE_WEIGHTS",
    "live_symbols",
    "DEFAULT_LEVERAGE_WEIGHTS",
    "HIGH_LEVERAGE_WEIGHTS",
    "LEVERAGE_PRESETS",
    "MMR_BRACKETS",
    "MMR_BRACKETS_AS_OF",
    "DataValidationError",
    "Estimate",
    "Heatmap",
    "TierAdjustment",
    "pool_checks",
    "Level",
    "Summary",
    "estimate",
    "GeoBlockedError",
    "InvalidSymbolError",
    "LiqError",
    "ModelConfig",
    "NetworkError",
    "NoDataError",
    "RateLimitError",
    "SourceError",
    "liquidation_price",
    "INTERVALS",
    "Fallback",
    "LoadResult",
    "MarketData",
    "load_market_data",
    "load_upload",
    "sample_symbols",
    "Screen",
    "ScreenRow",
    "screen",
    "top_perpetuals",
    "ModelCheck",
    "load_gaps",
    "load_liquidations",
    "model_check",
    "partial_spearman",
    "recording_windows",
    "spearman",
    "build_chart_payload",
    "format_level_label",
    "format_usd",
]

__version__ = "0.1.0"
