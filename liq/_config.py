"""Every assumption of the liquidation model, as named, documented constants and one frozen config.

Nothing in the engine hides a magic number: if the estimate depends on it, it is a field of
:class:`ModelConfig` or a constant in this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from types import MappingProxyType
from typing import Literal

from ._brackets import BRACKETS_AS_OF, MmrBracket, bracket_table
from ._errors import DataValidationError

__all__ = [
    "CLASSIC_LEVERAGE_WEIGHTS",
    "DEFAULT_LEVERAGE_WEIGHTS",
    "HIGH_LEVERAGE_WEIGHTS",
    "LEVERAGE_PRESETS",
    "MMR_BRACKETS",
    "MMR_BRACKETS_AS_OF",
    "MmrBracket",
    "ModelConfig",
]

#: The first tier set of the project (5-100x). Kept as the "Classic 5-100x" preset.
CLASSIC_LEVERAGE_WEIGHTS: Mapping[float, float] = MappingProxyType(
    {5.0: 0.10, 10.0: 0.25, 25.0: 0.30, 50.0: 0.20, 100.0: 0.15}
)

#: Default share of new position notional at each leverage (x -> weight); the weights sum to 1.
#: Retail-heavy perpetual books concentrate at 10-25x. The 125x tier (Binance's maximum in the first BTCUSDT
#: bracket) was added on the model check's *tuning* windows only (Dec 4-6 2024): it raised the partial
#: Spearman from +0.41/+0.50 to +0.51/+0.56 (long/short) there, and the untouched holdout (Dec 7/13/16/29)
#: from +0.23/+0.23 to +0.36/+0.34. Its exact weight (2-10 %) barely mattered. See README "Model check".
DEFAULT_LEVERAGE_WEIGHTS: Mapping[float, float] = MappingProxyType(
    {5.0: 0.10, 10.0: 0.25, 25.0: 0.30, 50.0: 0.20, 100.0: 0.10, 125.0: 0.05}
)

#: "High leverage" preset: only 25x, 50x and 100x, with the classic weights of those tiers renormalised.
HIGH_LEVERAGE_WEIGHTS: Mapping[float, float] = MappingProxyType(
    {lev: w / 0.65 for lev, w in CLASSIC_LEVERAGE_WEIGHTS.items() if lev >= 25}
)

#: Presets offered in the UI, by name.
LEVERAGE_PRESETS: Mapping[str, Mapping[float, float]] = MappingProxyType(
    {
        "All": DEFAULT_LEVERAGE_WEIGHTS,
        "High leverage": HIGH_LEVERAGE_WEIGHTS,
        "Classic 5-100x": CLASSIC_LEVERAGE_WEIGHTS,
    }
)


#: Date of the bracket table Binance published (``GET /fapi/v1/leverageBracket``), shipped in ``liq/data``.
MMR_BRACKETS_AS_OF: str = BRACKETS_AS_OF

#: Maintenance-margin brackets of every USDT-margined perpetual in the shipped table (read-only mapping of
#: symbol to :class:`MmrBracket` rows, lowest notional first). See :mod:`liq._brackets`.
MMR_BRACKETS: Mapping[str, tuple[MmrBracket, ...]] = bracket_table()

#: Median daily turnover of the Binance BTCUSDT perpetual: daily quote volume divided by open interest (USD),
#: over 500 days (2023-01-01 to 2024-05-14; 5m klines for the volume, Coinalyze's daily open interest); the
#: 10th-90th percentiles are 1.7 and 7.2. It sets how fast positions are closed in the volume model: with
#: ``inflow_share`` s of the quote volume opening positions on each side, a mean position lifetime of
#: ``1 / (s × turnover)`` days keeps the modelled positions per side equal to the open interest on average.
MEASURED_DAILY_TURNOVER = 3.66

#: How many of the last candles' volume set the size of the positions already open at the first candle of the
#: volume model (the "prior"): one day of 5m candles. The OI model uses the first open-interest value instead.
PRIOR_VOLUME_CANDLES = 288

#: Entry prices of the prior positions (those open before the range starts): the prior places the open interest of
#: the first candle at ``first_price × exp(z × σ)`` for z on an even grid over ±PRIOR_Z_SPAN, weighted by the
#: normal density, where σ is the data's own per-candle log-return volatility times the square root of the mean
#: position lifetime in candles. The grid is fine enough (PRIOR_POINTS_PER_LEVEL_BIN points per level bin, at most
#: PRIOR_MAX_POINTS) that the prior is a smooth spread, never a comb of small levels. Positions of the prior that the
#: first candle already reaches were liquidated before the range and are left out; the rest is rescaled, so the
#: range starts with its open interest, not with zero.
PRIOR_Z_SPAN = 3.0
PRIOR_POINTS_PER_LEVEL_BIN = 2
PRIOR_MAX_POINTS = 2001

#: Width of the bins levels and zones are found on, in percent of the last price. The heatmap's own bins span the
#: range shown; levels use fixed-width bins so their USD does not depend on the range picked.
LEVEL_BIN_PCT = 0.1
#: Most level bins one estimate uses (a range wider than LEVEL_BIN_PCT × this gets wider level bins).
MAX_LEVEL_BINS = 20_000

#: Default share of open interest held at the leverage tiers (the "levered share"). The rest is held by hedged or
#: well-collateralised positions (basis trades, cross margin with spare collateral, market makers) that the
#: model never liquidates inside the price grid; it counts in the modelled open interest but draws no level.
#: Chosen on the tuning windows only (Dec 4-6 2024 BTCUSDT recording, and Set D of 2025-06-23) so that the
#: estimated swept USD there is about :data:`STREAM_UNDERCOUNT_ALLOWANCE` times the recorded liquidations; see
#: README "How big are the dollars".
DEFAULT_LEVERED_SHARE = 0.02

#: The liquidation stream sends at most one event per symbol per second, so recordings are a lower bound. The
#: levered share was chosen so that the model sweeps about this many times the recorded USD on the tuning windows.
STREAM_UNDERCOUNT_ALLOWANCE = 2.0

OverMaxRule = Literal["clip", "drop"]


@dataclass(frozen=True)
class Bound:
    """Allowed range of one numeric :class:`ModelConfig` field (the one place these limits live).

    Examples
    --------
    >>> BOUNDS["significance"].contains(0.2), BOUNDS["significance"].contains(1.0)
    (True, False)
    >>> BOUNDS["significance"].describe()
    'in (0, 1)'
    """

    low: float
    high: float
    low_inclusive: bool = True
    high_inclusive: bool = True

    def contains(self, value: float) -> bool:
        """Whether ``value`` is a finite number inside the range."""
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return False
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        return above and below

    def describe(self) -> str:
        """The range in interval notation, e.g. ``"in (0, 1]"``."""
        left = "[" if self.low_inclusive else "("
        right = "]" if self.high_inclusive else ")"
        return f"in {left}{self.low:g}, {self.high:g}{right}"


#: Limits of the numeric fields of :class:`ModelConfig` (``None``-able fields are checked only when set).
BOUNDS: Mapping[str, Bound] = MappingProxyType(
    {
        "leverage": Bound(1.0, 125.0, low_inclusive=False),
        "assumed_position_usd": Bound(1.0, 1e9),
        "inflow_share": Bound(0.0, 1.0, low_inclusive=False),
        "levered_share": Bound(0.0, 1.0, low_inclusive=False),
        "position_half_life_hours": Bound(0.25, 1e6),
        "decay_half_life_candles": Bound(0.1, 1e7),
        "price_bins": Bound(10, 5000),
        "price_pad_pct": Bound(0.0, 100.0, low_inclusive=False),
        "time_columns": Bound(1, 1e7),
        "significance": Bound(0.0, 1.0, low_inclusive=False, high_inclusive=False),
        "approach_pct": Bound(0.0, 50.0, low_inclusive=False, high_inclusive=False),
        "cascade_gap_pct": Bound(0.0, 50.0, high_inclusive=False),
    }
)

#: Maximum number of leverage tiers in one config (each tier multiplies the engine's work).
MAX_TIERS = 12


EntryMode = Literal["auto", "vwap", "typical"]


@dataclass(frozen=True)
class ModelConfig:
    """All assumptions of :func:`liq.estimate`. Immutable and hashable, so it can key a cache.

    Parameters
    ----------
    leverage_tiers : tuple of float
        Leverages assumed for new positions (x). Default 5, 10, 25, 50, 100, 125.
    tier_weights : tuple of float
        Share of new notional at each tier; same length as ``leverage_tiers``, non-negative, summing to a
        positive number. They are renormalised to sum to 1.
    assumed_position_usd : float
        Typical single position size used to pick the maintenance-margin bracket (and its cum). The default,
        10,000 USD, sits in tier 1 for BTCUSDT and ETHUSDT, so ``cum = 0``.
    inflow_share : float
        Volume model only: the share of each candle's quote volume that opens new positions (per side,
        i.e. new open interest). Default 0.10, from the order of magnitude of BTCUSDT's daily
        ``|ΔOI| / volume``; it scales every USD figure but not where levels sit.
    use_taker_split : bool
        Split new notional between longs and shorts by taker-buy share when the data has it. Taker buyers
        lift the ask, so a taker-buy-heavy candle is more likely to have opened longs than shorts.
    entry_mode : {"auto", "vwap", "typical"}
        Entry price of a candle's new positions: VWAP ``quote_volume/volume`` ("auto" uses it when present),
        or the typical price ``(high+low+close)/3``.
    levered_share : float
        Share of open interest held at the leverage tiers (default :data:`DEFAULT_LEVERED_SHARE`). The rest is
        modelled as hedged or well-collateralised positions that are never liquidated inside the grid: they count
        in the modelled open interest (``Estimate.open_interest``) but draw no level and sweep nothing.
    position_half_life_hours : float or None
        Volume model only: positions are closed by their traders at an exponential rate with this half-life
        (hours). ``None`` (default) derives it from :data:`MEASURED_DAILY_TURNOVER` and ``inflow_share`` so that
        the modelled positions per side track real open interest: ``ln 2 × 24 / (inflow_share × turnover)``,
        45.5 h for the defaults. ``math.inf`` switches closures off. In the OI model open interest itself says
        when positions close.
    above_max_leverage : {"clip", "drop"}
        What a tier above the symbol's maximum leverage (at ``assumed_position_usd``) becomes: "clip" (default)
        prices it at the maximum leverage and keeps its weight; "drop" gives its weight to the other tiers.
        Either way no position ever liquidates on the wrong side of its entry.
    decay_half_life_candles : float or None
        Optional extra exponential decay of alive notional on top of the closures, half-life in candles.
        ``None`` (default) disables it.
    price_bins : int
        Number of price bins of the grid and of the level profile.
    price_pad_pct : float
        The grid spans ``[min(low)·(1−pad), max(high)·(1+pad)]``; 25 % covers 5x positions.
    time_columns : int or None
        Number of heatmap time columns; ``None`` means one column per candle.
    significance : float
        A price bin is significant when its alive notional is at least this fraction of the side's largest
        bin. Significant bins form zones; their peaks are levels.
    approach_pct : float
        A level counts one "approach" each time price comes within this many percent of it without touching
        it; it re-arms after price moves away by twice that.
    cascade_gap_pct : float
        Adjacent same-side levels closer than this (percent of price) are flagged as a cascade risk.
    """

    leverage_tiers: tuple[float, ...] = tuple(DEFAULT_LEVERAGE_WEIGHTS)
    tier_weights: tuple[float, ...] = tuple(DEFAULT_LEVERAGE_WEIGHTS.values())
    assumed_position_usd: float = 10_000.0
    inflow_share: float = 0.10
    use_taker_split: bool = True
    entry_mode: EntryMode = "auto"
    levered_share: float = DEFAULT_LEVERED_SHARE
    position_half_life_hours: float | None = None
    above_max_leverage: OverMaxRule = "clip"
    decay_half_life_candles: float | None = None
    price_bins: int = 500
    price_pad_pct: float = 25.0
    time_columns: int | None = None
    significance: float = 0.20
    approach_pct: float = 0.5
    cascade_gap_pct: float = 0.6

    def __post_init__(self) -> None:
        object.__setattr__(self, "leverage_tiers", tuple(float(x) for x in self.leverage_tiers))
        object.__setattr__(self, "tier_weights", tuple(float(x) for x in self.tier_weights))
        self.validate()

    # -- construction helpers -------------------------------------------------------------------------
    @classmethod
    def from_weights(cls, weights: Mapping[float, float], **kwargs: object) -> ModelConfig:
        """Config from a ``{leverage: weight}`` mapping plus any other field.

        Examples
        --------
        >>> ModelConfig.from_weights({25: 1, 50: 1}).weights()
        {25.0: 0.5, 50.0: 0.5}
        """
        items = sorted((float(k), float(v)) for k, v in weights.items())
        return cls(
            leverage_tiers=tuple(k for k, _ in items),
            tier_weights=tuple(v for _, v in items),
            **kwargs,  # type: ignore[arg-type]
        )

    @classmethod
    def preset(cls, name: str, **kwargs: object) -> ModelConfig:
        """Config with a named leverage preset: ``"All"`` or ``"High leverage"``."""
        if name not in LEVERAGE_PRESETS:
            raise DataValidationError(
                f"Unknown leverage preset {name!r}; choose one of {list(LEVERAGE_PRESETS)}."
            )
        return cls.from_weights(LEVERAGE_PRESETS[name], **kwargs)

    def with_(self, **changes: object) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def weights(self) -> dict[float, float]:
        """Normalised ``{leverage: weight}`` (weights sum to 1)."""
        total = sum(self.tier_weights)
        return {lev: w / total for lev, w in zip(self.leverage_tiers, self.tier_weights, strict=True)}

    def half_life_hours(self) -> float:
        """The volume model's position half-life in hours (derived when ``position_half_life_hours`` is None).

        Examples
        --------
        >>> round(ModelConfig().half_life_hours(), 1)
        45.5
        """
        if self.position_half_life_hours is not None:
            return float(self.position_half_life_hours)
        return math.log(2.0) * 24.0 / (self.inflow_share * MEASURED_DAILY_TURNOVER)

    def as_dict(self) -> dict[str, object]:
        """Plain dict of the public fields (for display and JSON)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    # -- validation -----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`DataValidationError` with a fix-it message when a field is out of range."""
        self._validate_tiers()
        for name, unit in _NUMERIC_FIELDS.items():
            value = getattr(self, name)
            if value is None and name in _OPTIONAL_FIELDS:
                continue
            if name == "position_half_life_hours" and value == math.inf:
                continue
            if isinstance(value, bool) or not BOUNDS[name].contains(value):
                raise DataValidationError(
                    f"{name} is {value!r}: it must be a number {BOUNDS[name].describe()}{unit}."
                )
        if self.entry_mode not in ("auto", "vwap", "typical"):
            raise DataValidationError('entry_mode must be "auto", "vwap" or "typical".')
        if self.above_max_leverage not in ("clip", "drop"):
            raise DataValidationError('above_max_leverage must be "clip" or "drop".')

    def _validate_tiers(self) -> None:
        tiers, weights = self.leverage_tiers, self.tier_weights
        if len(tiers) == 0:
            raise DataValidationError("Add at least one leverage tier (for example 10x).")
        if len(tiers) > MAX_TIERS:
            raise DataValidationError(
                f"{len(tiers)} leverage tiers is more than the {MAX_TIERS} allowed: merge or remove some."
            )
        if len(tiers) != len(weights):
            raise DataValidationError(
                f"leverage_tiers has {len(tiers)} entries but tier_weights has {len(weights)}: give one weight per tier."
            )
        if len(set(tiers)) != len(tiers):
            raise DataValidationError("Each leverage tier may appear only once; merge the duplicate rows.")
        for lev in tiers:
            if not BOUNDS["leverage"].contains(lev):
                raise DataValidationError(
                    f"Leverage {lev:g}x is out of range: use a value above 1x and at most 125x (Binance's maximum)."
                )
        for lev, w in zip(tiers, weights, strict=True):
            if not math.isfinite(w) or w < 0:
                raise DataValidationError(
                    f"The weight of {lev:g}x is {w:g}: weights must be zero or positive."
                )
        if sum(weights) <= 0:
            raise DataValidationError(
                "The tier weights add up to 0: give at least one tier a positive weight."
            )


#: Numeric fields checked against :data:`BOUNDS`, with the unit named in the message.
_NUMERIC_FIELDS: Mapping[str, str] = MappingProxyType(
    {
        "assumed_position_usd": " (USD)",
        "inflow_share": " (0.10 means 10 % of volume opens positions)",
        "levered_share": " (0.05 means 5 % of open interest is at the leverage tiers)",
        "position_half_life_hours": " (hours; None derives it from turnover, inf switches closures off)",
        "decay_half_life_candles": " (candles), or None to switch decay off",
        "price_bins": "",
        "price_pad_pct": " (percent)",
        "time_columns": ", or None for one column per candle",
        "significance": " (a fraction of the largest bin)",
        "approach_pct": " (percent)",
        "cascade_gap_pct": " (percent)",
    }
)
_OPTIONAL_FIELDS = frozenset({"position_half_life_hours", "decay_half_life_candles", "time_columns"})
