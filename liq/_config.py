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

from ._errors import DataValidationError

__all__ = [
    "CLASSIC_LEVERAGE_WEIGHTS",
    "DEFAULT_LEVERAGE_WEIGHTS",
    "DEFAULT_MMR_BRACKETS",
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


@dataclass(frozen=True)
class MmrBracket:
    """One notional bracket of Binance's maintenance-margin table.

    ``maint_amount_usd`` ("cum") is derived so the maintenance margin is continuous across brackets:
    ``cum_n = cum_{n-1} + floor_n × (mmr_n − mmr_{n-1})``.
    """

    notional_floor_usd: float
    notional_cap_usd: float
    mmr: float
    maint_amount_usd: float


def _brackets(rows: tuple[tuple[float, float], ...]) -> tuple[MmrBracket, ...]:
    """Build a bracket table from ``(notional_cap_usd, mmr)`` rows, deriving floors and cum."""
    out: list[MmrBracket] = []
    floor, cum, prev_mmr = 0.0, 0.0, rows[0][1]
    for cap, mmr in rows:
        cum += floor * (mmr - prev_mmr)
        out.append(MmrBracket(floor, cap, mmr, round(cum, 6)))
        floor, prev_mmr = cap, mmr
    return tuple(out)


#: Date of the bracket table below. Binance revises brackets from time to time; tier 1 (which the default
#: assumed position size falls in) has been 0.40 % for BTCUSDT and 0.50 % for ETHUSDT for years.
MMR_BRACKETS_AS_OF = "2024-12-01"

#: Maintenance-margin brackets per symbol, ``(notional_cap_usd, mmr)`` per tier, from Binance's public
#: "Leverage and Margin" table (``GET /fapi/v1/leverageBracket``) as of :data:`MMR_BRACKETS_AS_OF`.
#: Only the first tiers matter for the default assumed position size; deeper tiers are kept so that users
#: who model whales (``assumed_position_usd`` in the millions) get the right rate and cum.
MMR_BRACKETS: Mapping[str, tuple[MmrBracket, ...]] = MappingProxyType(
    {
        "BTCUSDT": _brackets(
            (
                (50_000, 0.004),
                (250_000, 0.005),
                (3_000_000, 0.010),
                (20_000_000, 0.025),
                (40_000_000, 0.050),
                (100_000_000, 0.100),
                (120_000_000, 0.125),
                (200_000_000, 0.150),
                (300_000_000, 0.250),
                (math.inf, 0.500),
            )
        ),
        "ETHUSDT": _brackets(
            (
                (50_000, 0.005),
                (250_000, 0.0065),
                (3_000_000, 0.010),
                (15_000_000, 0.020),
                (30_000_000, 0.050),
                (50_000_000, 0.100),
                (100_000_000, 0.125),
                (150_000_000, 0.150),
                (math.inf, 0.250),
            )
        ),
    }
)

#: Brackets for every other symbol: tier 1 of most mid-cap USDⓈ-M perpetuals is 1.0 % (max 50-75x).
#: This is deliberately conservative (it puts liquidations slightly closer to entry than 0.40-0.50 %).
DEFAULT_MMR_BRACKETS: tuple[MmrBracket, ...] = _brackets(
    ((5_000, 0.010), (50_000, 0.015), (250_000, 0.020), (1_000_000, 0.050), (math.inf, 0.100))
)


def brackets_for(symbol: str | None) -> tuple[MmrBracket, ...]:
    """The bracket table for ``symbol`` (case-insensitive), or :data:`DEFAULT_MMR_BRACKETS`."""
    return MMR_BRACKETS.get((symbol or "").upper(), DEFAULT_MMR_BRACKETS)


def bracket_for(symbol: str | None, notional_usd: float) -> MmrBracket:
    """The bracket that a position of ``notional_usd`` falls in, for ``symbol``.

    Examples
    --------
    >>> bracket_for("BTCUSDT", 10_000).mmr
    0.004
    >>> bracket_for("BTCUSDT", 100_000).maint_amount_usd
    50.0
    """
    for b in brackets_for(symbol):
        if notional_usd <= b.notional_cap_usd:
            return b
    return brackets_for(symbol)[-1]


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
    decay_half_life_candles : float or None
        Optional exponential decay of alive notional (positions closed voluntarily), half-life in candles.
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

    def as_dict(self) -> dict[str, object]:
        """Plain dict of the public fields (for display and JSON)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    # -- validation -----------------------------------------------------------------------------------
    def validate(self) -> None:
        """Raise :class:`DataValidationError` with a fix-it message when a field is out of range."""
        tiers, weights = self.leverage_tiers, self.tier_weights
        if len(tiers) == 0:
            raise DataValidationError("Add at least one leverage tier (for example 10x).")
        if len(tiers) != len(weights):
            raise DataValidationError(
                f"leverage_tiers has {len(tiers)} entries but tier_weights has {len(weights)}: give one weight per tier."
            )
        if len(set(tiers)) != len(tiers):
            raise DataValidationError("Each leverage tier may appear only once; merge the duplicate rows.")
        for lev in tiers:
            if not math.isfinite(lev) or lev <= 1 or lev > 125:
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
        checks: list[tuple[bool, str]] = [
            (self.assumed_position_usd > 0, "assumed_position_usd must be positive (USD)."),
            (
                0 < self.inflow_share <= 1,
                "inflow_share must be in (0, 1]; 0.10 means 10 % of volume opens positions.",
            ),
            (
                self.entry_mode in ("auto", "vwap", "typical"),
                'entry_mode must be "auto", "vwap" or "typical".',
            ),
            (
                self.decay_half_life_candles is None or self.decay_half_life_candles > 0,
                "decay_half_life_candles must be positive, or None to switch decay off.",
            ),
            (10 <= self.price_bins <= 5000, "price_bins must be between 10 and 5000."),
            (0 < self.price_pad_pct <= 100, "price_pad_pct must be in (0, 100]."),
            (
                self.time_columns is None or self.time_columns >= 1,
                "time_columns must be at least 1, or None for one column per candle.",
            ),
            (0 < self.significance < 1, "significance is a fraction of the largest bin, in (0, 1)."),
            (0 < self.approach_pct < 50, "approach_pct must be in (0, 50) percent."),
            (0 <= self.cascade_gap_pct < 50, "cascade_gap_pct must be in [0, 50) percent."),
        ]
        for ok, msg in checks:
            if not ok:
                raise DataValidationError(msg)
