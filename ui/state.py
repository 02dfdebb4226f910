"""The sidebar settings shared by every page: one canonical copy in ``st.session_state``, mirrored in the URL.

Why a canonical copy: Streamlit forgets a widget's value when the widget is not rendered in a run, and it
drops the query string when the user switches pages. So the settings live in a plain session-state dict
(``_liq_settings``); widgets are seeded from it and write back to it, and every run rewrites the query string
from it. A fresh session (for example a shared link) starts from the query string instead.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import streamlit as st

import liq

__all__ = [
    "DEFAULTS",
    "INTERVALS",
    "RANGES",
    "SOURCES",
    "Settings",
    "decode",
    "encode",
    "link_problems",
    "load",
    "save",
    "share_url",
    "sync_query_params",
]

INTERVALS: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "4h": 240}
"""Candle intervals offered, with their length in minutes."""

RANGES: dict[str, timedelta] = {
    "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
    "14d": timedelta(days=14),
    "30d": timedelta(days=30),
}
"""Look-back ranges offered."""

SOURCES: dict[str, str] = {
    "auto": "Auto (live → archive → sample)",
    "live": "Live Binance",
    "archive": "Binance public archive",
    "sample": "Built-in sample",
    "upload": "Upload CSV",
}
"""Data sources, by the key that ``liq.load_market_data`` understands (``upload`` is handled in ``ui``)."""


def _slug(name: str) -> str:
    """URL key of a preset name: ``"High leverage"`` -> ``"high"``, ``"Classic 5-100x"`` -> ``"classic-5-100x"``."""
    return {"All": "all", "High leverage": "high"}.get(name) or re.sub(
        r"[^a-z0-9]+", "-", name.lower()
    ).strip("-")


PRESETS: dict[str, str] = {**{_slug(name): name for name in liq.LEVERAGE_PRESETS}, "custom": "Custom"}
"""Leverage presets: URL key -> the name shown (and the name ``liq.LEVERAGE_PRESETS`` uses), plus Custom."""

BIN_CHOICES: tuple[int, ...] = (100, 200, 300, 500, 800, 1000, 1500)
"""Price resolutions (number of price bins) offered."""

LIVE_REFRESH_SECONDS = 60
"""How often the live auto-refresh fetches the newest candles."""

_SYMBOL_RE = re.compile(r"^[A-Z0-9]{2,24}$")


def _preset_weights(preset: str) -> tuple[tuple[float, float], ...]:
    return tuple(sorted((float(k), float(v)) for k, v in liq.LEVERAGE_PRESETS[PRESETS[preset]].items()))


def preset_of(weights: tuple[tuple[float, float], ...]) -> str:
    """The URL key of the preset whose weights these are, or ``"custom"``."""
    ordered = tuple(sorted(weights))
    return next((k for k in PRESETS if k != "custom" and _preset_weights(k) == ordered), "custom")


@dataclass(frozen=True)
class Settings:
    """Everything a page needs to reproduce a view. Frozen, so it can be compared and hashed."""

    symbol: str = "BTCUSDT"
    interval: str = "5m"
    range_key: str = "7d"
    source: str = "auto"
    preset: str = "all"
    weights: tuple[tuple[float, float], ...] = _preset_weights("all")
    decay_hours: float = 0.0
    bins: int = 500
    significance: float = 0.20
    colour_threshold: float = 0.0
    live: bool = False

    @property
    def interval_minutes(self) -> int:
        return INTERVALS[self.interval]

    @property
    def range(self) -> timedelta:
        return RANGES[self.range_key]

    def model_config(self, candle_minutes: int | None = None) -> liq.ModelConfig:
        """The engine config these settings describe, for candles of ``candle_minutes`` (default: the interval).

        The decay half-life is set in hours and converted to candles, so it needs the length of the candles
        actually used (an upload, the sample or the model check may use another interval than the picker's).
        Raises :class:`liq.DataValidationError` (with a message for the user) when a setting is invalid,
        for example tier weights that add up to zero.
        """
        decay = None
        if self.decay_hours > 0:
            decay = self.decay_hours * 60.0 / (candle_minutes or self.interval_minutes)
        return liq.ModelConfig(
            leverage_tiers=tuple(lev for lev, _ in self.weights),
            tier_weights=tuple(w for _, w in self.weights),
            decay_half_life_candles=decay,
            price_bins=int(self.bins),
            significance=float(self.significance),
        )


DEFAULTS = Settings()

# --- URL encoding ------------------------------------------------------------------------------------------
# Query-parameter names; short, because they end up in links people paste around.
_KEYS = {
    "symbol": "sym",
    "interval": "iv",
    "range_key": "range",
    "source": "src",
    "preset": "preset",
    "weights": "w",
    "decay_hours": "decay",
    "bins": "bins",
    "significance": "sig",
    "colour_threshold": "thr",
    "live": "live",
}


def _fmt_num(x: float) -> str:
    return f"{x:.6g}"


def encode_weights(weights: tuple[tuple[float, float], ...]) -> str:
    """``((5, 0.1), (10, 0.25))`` -> ``"5:0.1,10:0.25"``."""
    return ",".join(f"{_fmt_num(lev)}:{_fmt_num(w)}" for lev, w in weights)


def decode_weights(text: str) -> tuple[tuple[float, float], ...]:
    """Inverse of :func:`encode_weights`; raises ``ValueError`` with a readable message."""
    pairs: list[tuple[float, float]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        if ":" not in part:
            raise ValueError(f"'{part}' is not of the form leverage:weight (for example 10:0.25)")
        lev_s, w_s = part.split(":", 1)
        try:
            lev, w = float(lev_s), float(w_s)
        except ValueError:
            raise ValueError(f"'{part}' does not hold two numbers") from None
        if not (math.isfinite(lev) and math.isfinite(w)):
            raise ValueError(f"'{part}' is not a finite number")
        pairs.append((lev, w))
    if not pairs:
        raise ValueError("no leverage tiers given")
    return tuple(pairs)


def encode(s: Settings) -> dict[str, str]:
    """Settings -> query parameters (every setting, so a link is complete)."""
    return {
        "sym": s.symbol,
        "iv": s.interval,
        "range": s.range_key,
        "src": s.source,
        "preset": s.preset,
        "w": encode_weights(s.weights),
        "decay": _fmt_num(s.decay_hours),
        "bins": str(int(s.bins)),
        "sig": _fmt_num(s.significance),
        "thr": _fmt_num(s.colour_threshold),
        "live": "1" if s.live else "0",
    }


def decode(params: dict[str, str]) -> tuple[Settings, list[str]]:
    """Query parameters -> settings, plus a note for each value that could not be used (default kept).

    Values that are well formed but make no sense to the model (weights adding up to zero, a negative
    weight) are kept, so the page explains the problem instead of hiding it.
    """
    s = DEFAULTS
    problems: list[str] = []

    def bad(name: str, value: str, why: str) -> None:
        problems.append(f"The link's setting {name}={value!r} was ignored: {why}.")

    def get(name: str) -> str | None:
        value = params.get(name)
        return None if value is None else str(value).strip()

    if (v := get("sym")) is not None:
        sym = v.upper()
        if _SYMBOL_RE.match(sym):
            s = replace(s, symbol=sym)
        else:
            bad("sym", v, "a pair is letters and digits only, like BTCUSDT")
    if (v := get("iv")) is not None:
        if v in INTERVALS:
            s = replace(s, interval=v)
        else:
            bad("iv", v, f"choose one of {', '.join(INTERVALS)}")
    if (v := get("range")) is not None:
        if v in RANGES:
            s = replace(s, range_key=v)
        else:
            bad("range", v, f"choose one of {', '.join(RANGES)}")
    if (v := get("src")) is not None:
        if v in SOURCES:
            s = replace(s, source=v)
        else:
            bad("src", v, f"choose one of {', '.join(SOURCES)}")
    if (v := get("preset")) is not None:
        if v in PRESETS:
            s = replace(s, preset=v)
            if v != "custom":
                s = replace(s, weights=_preset_weights(v))
        else:
            bad("preset", v, f"choose one of {', '.join(PRESETS)}")
    if (v := get("w")) is not None:
        try:
            weights = decode_weights(v)
        except ValueError as err:
            bad("w", v, str(err))
        else:
            preset = preset_of(weights)
            s = replace(s, weights=weights, preset=preset)
    for name, field, lo, hi in (
        ("decay", "decay_hours", 0.0, 24.0 * 30),
        ("sig", "significance", 0.01, 0.95),
    ):
        if (v := get(name)) is not None:
            try:
                x = float(v)
            except ValueError:
                bad(name, v, "not a number")
                continue
            if math.isfinite(x) and lo <= x <= hi:
                s = replace(s, **{field: x})
            else:
                bad(name, v, f"use a number from {lo:g} to {hi:g}")
    if (v := get("thr")) is not None:
        try:
            x = float(v)
        except ValueError:
            x = math.nan
        if math.isfinite(x) and 0.0 <= x < 1.0:
            s = replace(s, colour_threshold=x)
        else:
            bad("thr", v, "use a fraction from 0 to 0.95")
    if (v := get("bins")) is not None:
        try:
            n = int(float(v))
        except ValueError:
            n = -1
        if n in BIN_CHOICES:
            s = replace(s, bins=n)
        else:
            bad("bins", v, f"choose one of {', '.join(map(str, BIN_CHOICES))}")
    if (v := get("live")) is not None:
        if v in ("0", "1", "true", "false"):
            s = replace(s, live=v in ("1", "true"))
        else:
            bad("live", v, "use 1 or 0")
    return s, problems


# --- session state -----------------------------------------------------------------------------------------
_STORE = "_liq_settings"
_PROBLEMS = "_liq_link_problems"


def load() -> Settings:
    """The current settings. On the first run of a session they come from the URL (a shared link)."""
    if _STORE not in st.session_state:
        settings, problems = decode({k: st.query_params.get(k) for k in st.query_params})
        st.session_state[_STORE] = asdict(settings)
        st.session_state[_PROBLEMS] = problems
    raw: dict[str, Any] = dict(st.session_state[_STORE])
    raw["weights"] = tuple(tuple(p) for p in raw["weights"])
    return Settings(**raw)


def save(settings: Settings) -> None:
    """Store ``settings`` as the canonical copy for this session."""
    st.session_state[_STORE] = asdict(settings)


def link_problems() -> list[str]:
    """Notes about settings in the opening link that could not be used (empty when all was fine)."""
    return list(st.session_state.get(_PROBLEMS, []))


def sync_query_params(settings: Settings) -> None:
    """Mirror ``settings`` into the URL, touching only parameters that changed."""
    wanted = encode(settings)
    for key, value in wanted.items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def share_url(settings: Settings) -> str:
    """A link that reproduces the current view (page plus every setting)."""
    base = None
    try:
        base = st.context.url
    except Exception:  # no browser context (tests, bare mode)
        base = None
    query = urlencode(encode(settings), safe=":,")
    return f"{base or ''}?{query}"
