"""Every sidebar setting, described once: :class:`Settings` plus one :class:`Spec` row per setting.

A row holds everything about its setting: the URL key, the widget and its session key, the label and help,
the bounds, step and options, and the default. The share link (:func:`encode` / :func:`decode`), the
sidebar widgets and their callbacks (``ui.sidebar``) and the checks (:func:`check`, :func:`from_text`) all
read these rows, so a bound is written in one place.

A value that cannot be used as given (out of bounds, not finite such as ``inf`` or ``1e400``, unparsable, or
longer than :data:`MAX_PARAM_CHARS`) is clamped or replaced, and the caller gets a plain sentence saying
which parameter it was and what is used instead. Nothing unchecked is ever stored.

Why a canonical copy in the session: Streamlit forgets a widget's value when the widget is not drawn in a
run, and drops the query string when the user switches pages. So the settings live in a plain session-state
dict; widgets are seeded from it and write back to it, and every run rewrites the query string from it. A
fresh session (for example a shared link) starts from the query string instead.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, Literal
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

import liq
from liq._brackets import bracket_symbols
from liq._config import BOUNDS
from liq._config import MAX_TIERS as MODEL_MAX_TIERS
from liq._sources._common import (
    EARLIEST_TIME,
    INTERVAL_MS,
    SOURCE_LABELS,
    SYMBOL_PATTERN,
    normalise_symbol,
)

__all__ = [
    "BIN_CHOICES",
    "DECAY_MAX_HOURS",
    "DECAY_MIN_HOURS",
    "DEFAULTS",
    "INTERVAL_MINUTES",
    "LIVE_REFRESH_SECONDS",
    "MAX_ECHO_CHARS",
    "MAX_LEVERAGE",
    "MAX_PARAM_CHARS",
    "MAX_TIERS",
    "MAX_TIER_WEIGHT",
    "MAX_WATCHLIST",
    "MIN_LEVERAGE",
    "PRESETS",
    "RANGES",
    "RANGE_INTERVALS",
    "SOURCES",
    "SPEC",
    "SPECS",
    "Checked",
    "Settings",
    "Spec",
    "Weights",
    "check",
    "check_tiers",
    "decode",
    "echo",
    "encode",
    "encode_weights",
    "follow",
    "intervals_for",
    "from_text",
    "link_problems",
    "load",
    "preset_of",
    "preset_weights",
    "save",
    "share_url",
    "shown",
    "suited_interval",
    "sync_query_params",
    "to_text",
]

Weights = tuple[tuple[float, float], ...]

# --- limits ------------------------------------------------------------------------------------------------
#: Longest query-parameter value read from a link; longer values are not used (a link is typed or pasted).
MAX_PARAM_CHARS = 200
#: Longest piece of a user's value repeated in a message (the rest is cut with "…").
MAX_ECHO_CHARS = 40
#: Most leverage tiers in a link or in the tier table (the model's limit: each tier costs a pass of the model).
MAX_TIERS = MODEL_MAX_TIERS
#: Highest tier weight (weights are renormalised, so this only keeps the numbers sane).
MAX_TIER_WEIGHT = 1000.0
#: Leverage range of a tier (the model's bound; the low end is exclusive: 1x cannot be liquidated).
MIN_LEVERAGE, MAX_LEVERAGE = BOUNDS["leverage"].low, BOUNDS["leverage"].high
#: How often the live auto-refresh fetches the newest candles.
LIVE_REFRESH_SECONDS = 60
#: Most pairs in a watchlist (each one is a load and an estimate of the screener).
MAX_WATCHLIST = 20

# --- options -----------------------------------------------------------------------------------------------
#: Candle intervals (the sources' list) with their length in minutes.
INTERVAL_MINUTES: Mapping[str, int] = MappingProxyType({k: ms // 60_000 for k, ms in INTERVAL_MS.items()})
#: Shortest decay half-life, in hours: the model's shortest half-life in candles, on 4h candles. On 1d candles a
#: shorter half-life than the model's shortest (a tenth of a candle) is raised to it (``Settings.model_config``).
DECAY_MIN_HOURS = BOUNDS["decay_half_life_candles"].low * INTERVAL_MINUTES["4h"] / 60.0
DECAY_MAX_HOURS = 24.0 * 30
#: Look-back ranges offered.
RANGES: Mapping[str, timedelta] = MappingProxyType(
    {
        "12h": timedelta(hours=12),
        "1d": timedelta(days=1),
        "3d": timedelta(days=3),
        "7d": timedelta(days=7),
        "14d": timedelta(days=14),
        "30d": timedelta(days=30),
        "90d": timedelta(days=90),
        "180d": timedelta(days=180),
        "1y": timedelta(days=365),
    }
)
_SHORT = ("1m", "5m", "15m", "1h")
#: The intervals offered with each range: enough candles for levels and approaches (4h from 3 days, 1d from 30
#: days), not more than about 45,000 (30 days of 1m), and 1h, 4h or 1d for the long ranges.
RANGE_INTERVALS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "12h": _SHORT,
        "1d": _SHORT,
        "3d": (*_SHORT, "4h"),
        "7d": (*_SHORT, "4h"),
        "14d": (*_SHORT, "4h"),
        "30d": (*_SHORT, "4h", "1d"),
        "90d": ("1h", "4h", "1d"),
        "180d": ("1h", "4h", "1d"),
        "1y": ("1h", "4h", "1d"),
    }
)


def intervals_for(range_key: str) -> tuple[str, ...]:
    """The intervals offered with ``range_key`` (all of them for an unknown key)."""
    return RANGE_INTERVALS.get(range_key, tuple(INTERVAL_MINUTES))


def suited_interval(interval: str, range_key: str) -> str:
    """``interval`` when it suits ``range_key``, else the offered interval of the nearest candle length."""
    offered = intervals_for(range_key)
    if interval in offered:
        return interval
    minutes = INTERVAL_MINUTES.get(interval, INTERVAL_MINUTES["1h"])
    return min(offered, key=lambda k: abs(math.log(INTERVAL_MINUTES[k] / minutes)))


#: Data sources by key, with the name shown (the sources' labels; ``upload`` is read in ``ui``).
SOURCES: Mapping[str, str] = MappingProxyType(dict(SOURCE_LABELS))
#: Price resolutions (number of price bins) offered.
BIN_CHOICES: tuple[int, ...] = (100, 200, 300, 500, 800, 1000, 1500)


def _slug(name: str) -> str:
    """URL key of a preset name: ``"High leverage"`` -> ``"high"``, ``"Classic 5-100x"`` -> ``"classic-5-100x"``."""
    return {"All": "all", "High leverage": "high"}.get(name) or re.sub(
        r"[^a-z0-9]+", "-", name.lower()
    ).strip("-")


#: Leverage presets: URL key -> the name shown (and the name ``liq.LEVERAGE_PRESETS`` uses), plus Custom.
PRESETS: Mapping[str, str] = MappingProxyType(
    {**{_slug(name): name for name in liq.LEVERAGE_PRESETS}, "custom": "Custom"}
)


def preset_weights(preset: str) -> Weights:
    """The (leverage, weight) pairs of a preset, by its URL key."""
    return tuple(sorted((float(k), float(v)) for k, v in liq.LEVERAGE_PRESETS[PRESETS[preset]].items()))


def preset_of(weights: Weights) -> str:
    """The URL key of the preset whose weights these are, or ``"custom"``.

    Weights are compared as shares of their total, to the precision a link writes them in, so a preset read
    back from a share link (or after a reload) is still that preset.

    >>> preset_of(((25.0, 0.461538), (50.0, 0.307692), (100.0, 0.230769)))
    'high'
    """
    return next((k for k in PRESETS if k != "custom" and _same_mix(preset_weights(k), weights)), "custom")


def _same_mix(a: Weights, b: Weights) -> bool:
    """Whether two sets of tiers are the same leverages with the same shares (to 5 significant digits)."""
    a, b = tuple(sorted(a)), tuple(sorted(b))
    if [lev for lev, _ in a] != [lev for lev, _ in b]:
        return False
    total_a, total_b = sum(w for _, w in a), sum(w for _, w in b)
    if total_a <= 0 or total_b <= 0:
        return False
    return all(
        math.isclose(wa / total_a, wb / total_b, rel_tol=1e-5, abs_tol=1e-9)
        for (_, wa), (_, wb) in zip(a, b, strict=True)
    )


# --- the rows ----------------------------------------------------------------------------------------------
Kind = Literal["symbol", "symbols", "choice", "steps", "number", "toggle", "weights", "when"]
Widget = Literal[
    "pair", "selectbox", "select_slider", "slider", "number_input", "toggle", "editor", "text_input"
]


@dataclass(frozen=True)
class Spec:
    """One setting: where it lives in the URL and the session, how it is drawn, what values it takes.

    ``kind`` says how a value is checked: ``symbol`` (a contract name), ``symbols`` (a list of them, at most
    ``hi``), ``choice`` (one of ``options``),
    ``steps`` (the nearest of numeric ``options``), ``number`` (clamped to ``lo`` … ``hi``; ``off`` is a
    value below ``lo`` that switches the setting off), ``toggle`` (on/off) or ``weights`` (leverage tiers).
    """

    field: str
    key: str
    widget_key: str
    kind: Kind
    widget: Widget
    label: str
    default: Any
    options: Mapping[Any, str] = dataclass_field(default_factory=dict)
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    off: float | None = None
    unit: str = ""
    help: str = ""


def _preset_help() -> str:
    names = (
        f"{name}: {', '.join(f'{lev:g}x' for lev in sorted(liq.LEVERAGE_PRESETS[name]))}."
        for name in liq.LEVERAGE_PRESETS
    )
    return " ".join(names) + " Custom: edit the table for your own mix."


SPECS: tuple[Spec, ...] = (
    Spec(
        "symbol",
        "sym",
        "sb_symbol",
        "symbol",
        "pair",
        "Pair",
        "BTCUSDT",
        help="Binance USD-M perpetual. Type to search.",
    ),
    Spec(
        "interval",
        "iv",
        "sb_interval",
        "choice",
        "selectbox",
        "Interval",
        "5m",
        {k: k for k in INTERVAL_MINUTES},
    ),
    Spec(
        "range_key",
        "range",
        "sb_range",
        "choice",
        "selectbox",
        "Range",
        "7d",
        {k: k for k in RANGES},
        help="How far back the model looks.",
    ),
    Spec(
        "end",
        "end",
        "sb_end",
        "when",
        "text_input",
        "End (UTC; empty: now)",
        "",
        help="Open the view that ends at this UTC date or time instead of now, like 2024-12-05T02:00, on any "
        "source that has the data. Replays a past cascade; the built-in recordings are reached this way.",
    ),
    Spec(
        "source",
        "src",
        "sb_source",
        "choice",
        "selectbox",
        "Data source",
        "auto",
        SOURCES,
        help="Auto tries live Binance, then Binance's public daily archive, then the built-in sample, and tells "
        "you which one it used.",
    ),
    Spec(
        "live",
        "live",
        "sb_live",
        "toggle",
        "toggle",
        f"Live auto-refresh (every {LIVE_REFRESH_SECONDS} s)",
        False,
        help="Fetches only the newest candles from live Binance and updates the page in place.",
    ),
    Spec(
        "preset",
        "preset",
        "sb_preset",
        "choice",
        "selectbox",
        "Leverage preset",
        "all",
        PRESETS,
        help=_preset_help(),
    ),
    Spec(
        "weights",
        "w",
        "sb_weights",
        "weights",
        "editor",
        "Tier weights",
        preset_weights("all"),
        lo=MIN_LEVERAGE,
        hi=MAX_LEVERAGE,
        help="share of new positions per leverage, renormalised to 100 %",
    ),
    Spec(
        "decay_hours",
        "decay",
        "sb_decay",
        "number",
        "number_input",
        "Position decay half-life (hours, 0 = off)",
        0.0,
        lo=DECAY_MIN_HOURS,
        hi=DECAY_MAX_HOURS,
        step=1.0,
        off=0.0,
        unit="h",
        help="Traders also close positions themselves. With a half-life, the model fades old positions by half "
        f"every so many hours ({DECAY_MIN_HOURS:g} to {DECAY_MAX_HOURS:g} h).",
    ),
    Spec(
        "bins",
        "bins",
        "sb_bins",
        "steps",
        "select_slider",
        "Price resolution (bins)",
        500,
        {n: str(n) for n in BIN_CHOICES},
        help="How finely the price axis is cut. More bins: sharper levels, more noise.",
    ),
    Spec(
        "significance",
        "sig",
        "sb_sig",
        "number",
        "slider",
        "Significance threshold",
        0.20,
        lo=0.05,
        hi=0.90,
        step=0.05,
        help="A price bin counts towards a level when its estimated USD is at least this share of the biggest "
        "bin on its side.",
    ),
    Spec(
        "colour_threshold",
        "thr",
        "sb_thr",
        "number",
        "slider",
        "Colour threshold",
        0.0,
        lo=0.0,
        hi=0.90,
        step=0.05,
        help="Hide heatmap cells weaker than this share of the strongest cell (declutters the picture).",
    ),
    Spec(
        "watchlist",
        "watch",
        "scr_watchlist",
        "symbols",
        "text_input",
        "Watchlist (pairs to screen; empty: the most traded)",
        (),
        hi=MAX_WATCHLIST,
        help=f"Up to {MAX_WATCHLIST} Binance USD-M perpetuals, separated by commas, like BTCUSDT, ETHUSDT.",
    ),
)
"""One row per setting, in the order a link is read (the preset before the weights)."""

SPEC: Mapping[str, Spec] = MappingProxyType({s.field: s for s in SPECS})
"""The rows by Settings field."""


@dataclass(frozen=True)
class Settings:
    """Everything a page needs to reproduce a view. Frozen, so it can be compared and hashed."""

    symbol: str = SPEC["symbol"].default
    interval: str = SPEC["interval"].default
    range_key: str = SPEC["range_key"].default
    end: str = SPEC["end"].default
    source: str = SPEC["source"].default
    preset: str = SPEC["preset"].default
    weights: Weights = SPEC["weights"].default
    decay_hours: float = SPEC["decay_hours"].default
    bins: int = SPEC["bins"].default
    significance: float = SPEC["significance"].default
    colour_threshold: float = SPEC["colour_threshold"].default
    live: bool = SPEC["live"].default
    watchlist: tuple[str, ...] = SPEC["watchlist"].default

    @property
    def interval_minutes(self) -> int:
        return INTERVAL_MINUTES[self.interval]

    @property
    def range(self) -> timedelta:
        return RANGES[self.range_key]

    @property
    def end_time(self) -> datetime | None:
        """The UTC end of the view, or None for "now"."""
        return pd.Timestamp(self.end, tz="UTC").to_pydatetime() if self.end else None

    def model_config(self, candle_minutes: int | None = None) -> liq.ModelConfig:
        """The engine config these settings describe, for candles of ``candle_minutes`` (default: the interval).

        The decay half-life is set in hours and converted to candles, so it needs the length of the candles
        actually used (an upload, the sample or the model check may use another interval than the picker's).
        Raises :class:`liq.DataValidationError` (with a message for the user) when the model refuses the
        settings, for example tier weights that add up to zero.
        """
        decay = None
        if self.decay_hours > 0:
            decay = self.decay_hours * 60.0 / (candle_minutes or self.interval_minutes)
            decay = max(decay, BOUNDS["decay_half_life_candles"].low)  # 1d candles: see DECAY_MIN_HOURS
        return liq.ModelConfig(
            leverage_tiers=tuple(lev for lev, _ in self.weights),
            tier_weights=tuple(w for _, w in self.weights),
            decay_half_life_candles=decay,
            price_bins=int(self.bins),
            significance=float(self.significance),
        )


DEFAULTS = Settings()


# --- checking one value ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Checked:
    """A value ready to store, and a plain sentence when it is not the value given (else None)."""

    value: Any
    problem: str | None = None


class _Unusable(ValueError):
    """A value that cannot be used at all (the fallback is used); the message says why."""


class _Adjusted(Exception):
    """A value that was clamped or cut to fit; carries the value used and why."""

    def __init__(self, value: Any, why: str) -> None:
        super().__init__(why)
        self.value = value


def echo(value: object) -> str:
    """A user's value as it may be repeated in a message: at most :data:`MAX_ECHO_CHARS` characters."""
    text = str(value)
    return text if len(text) <= MAX_ECHO_CHARS else text[:MAX_ECHO_CHARS] + "…"


def _num(x: float) -> str:
    return f"{x:.6g}"


def encode_weights(weights: Weights) -> str:
    """``((5, 0.1), (10, 0.25))`` -> ``"5:0.1,10:0.25"``."""
    return ",".join(f"{_num(lev)}:{_num(w)}" for lev, w in weights)


def to_text(spec: Spec, value: Any) -> str:
    """A checked value as it is written in a link."""
    if spec.kind == "toggle":
        return "1" if value else "0"
    if spec.kind == "weights":
        return encode_weights(value)
    if spec.kind == "symbols":
        return ",".join(value)
    if spec.kind == "number":
        return _num(float(value))
    return str(value)


def shown(spec: Spec, value: Any) -> str:
    """A value as a message names it (with its unit; "off" for a switched-off number)."""
    if spec.off is not None and value == spec.off:
        return f"{_num(spec.off)} (off)"
    if spec.kind == "when" and not value:
        return "now"
    return f"{to_text(spec, value)} {spec.unit}".rstrip() or "none"


def _finite_number(raw: Any) -> float:
    try:
        x = float(raw)
    except (TypeError, ValueError):
        raise _Unusable("it is not a number") from None
    if not math.isfinite(x):
        raise _Unusable("it is not a finite number")
    return x


def _symbol(spec: Spec, raw: Any) -> str:
    """A pair as Binance names it: "BTC/USDT", "btc", "BTCUSDT.P" are read as BTCUSDT (and the user told)."""
    typed = str(raw or "").strip().upper()
    sym = normalise_symbol(typed, known=bracket_symbols())
    if not SYMBOL_PATTERN.match(sym):
        raise _Unusable("a pair is capital letters and digits only, 2 to 30 of them, like BTCUSDT")
    if sym != typed:
        raise _Adjusted(sym, f"Binance names that perpetual {sym}")
    return sym


def _symbols(spec: Spec, raw: Any) -> tuple[str, ...]:
    parts = re.split(r"[\s,;]+", raw) if isinstance(raw, str) else [str(x) for x in raw or ()]
    names = [p.strip().upper() for p in parts if p.strip()]
    good = tuple(dict.fromkeys(n for n in names if SYMBOL_PATTERN.match(n)))
    bad = [n for n in names if not SYMBOL_PATTERN.match(n)]
    most = int(spec.hi or MAX_WATCHLIST)
    if bad:
        raise _Adjusted(
            good[:most], f"{echo(bad[0])!r} is not a pair (capital letters and digits, like BTCUSDT)"
        )
    if len(good) > most:
        raise _Adjusted(good[:most], f"at most {most} pairs: the first {most} are used")
    return good


#: How an end time is written in a link (UTC, to the minute).
END_FORMAT = "%Y-%m-%dT%H:%M"


def _when(spec: Spec, raw: Any) -> str:
    """A UTC date or time, written as :data:`END_FORMAT`; empty means "now"; a future one is "now"."""
    text = str(raw or "").strip()
    if not text:
        return ""
    try:
        t = pd.Timestamp(text)
    except (TypeError, ValueError, OverflowError):
        t = pd.NaT
    if pd.isna(t):
        raise _Unusable("use a UTC date or time such as 2024-12-05T02:00")
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    if t < EARLIEST_TIME:
        raise _Adjusted(EARLIEST_TIME.strftime(END_FORMAT), f"there is no data before {EARLIEST_TIME:%Y}")
    if t > datetime.now(timezone.utc):
        raise _Adjusted("", "it is in the future, so the view ends now")
    return t.strftime(END_FORMAT)


def _choice(spec: Spec, raw: Any) -> Any:
    if raw not in spec.options:
        raise _Unusable(f"choose one of {', '.join(map(str, spec.options))}")
    return raw


def _steps(spec: Spec, raw: Any) -> int:
    x = _finite_number(raw)
    options = list(spec.options)
    nearest = min(options, key=lambda o: abs(o - x))
    if nearest != x:
        raise _Adjusted(nearest, f"choose one of {', '.join(map(str, options))}")
    return int(nearest)


def _number(spec: Spec, raw: Any) -> float:
    x = _finite_number(raw)
    lo, hi = (
        float(spec.lo if spec.lo is not None else -math.inf),
        float(spec.hi if spec.hi is not None else math.inf),
    )
    if spec.off is not None and x == spec.off:
        return x
    span = f"use {_num(lo)} to {_num(hi)}{' ' + spec.unit if spec.unit else ''}"
    if spec.off is not None:
        span += f", or {_num(spec.off)} for off"
    if spec.off is not None and x < spec.off:
        raise _Adjusted(spec.off, span)
    if x < lo or x > hi:
        raise _Adjusted(min(max(x, lo), hi), span)
    return x


def _toggle(spec: Spec, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text not in ("0", "1", "true", "false"):
        raise _Unusable("use 1 or 0")
    return text in ("1", "true")


def check_tiers(pairs: list[tuple[float, float]]) -> tuple[Weights, str | None]:
    """Leverage tiers within the bounds, and a note when tiers beyond :data:`MAX_TIERS` were left out.

    Raises ``ValueError`` (the message says what to fix) when a leverage or a weight is out of bounds.
    """
    for lev, w in pairs:
        if not (math.isfinite(lev) and MIN_LEVERAGE < lev <= MAX_LEVERAGE):
            raise _Unusable(
                f"leverage {echo(_num(lev))}x is out of range: use above {_num(MIN_LEVERAGE)}x and at most "
                f"{_num(MAX_LEVERAGE)}x"
            )
        if not (math.isfinite(w) and 0 <= w <= MAX_TIER_WEIGHT):
            raise _Unusable(
                f"the weight of {_num(lev)}x is {echo(_num(w))}: weights must be zero or positive, at most "
                f"{_num(MAX_TIER_WEIGHT)}"
            )
    if not pairs:
        raise _Unusable("no leverage tiers given")
    if len(pairs) > MAX_TIERS:
        return tuple(pairs[:MAX_TIERS]), f"at most {MAX_TIERS} leverage tiers: the first {MAX_TIERS} are used"
    return tuple(pairs), None


def _parse_weights(text: str) -> list[tuple[float, float]]:
    pairs: list[tuple[float, float]] = []
    for part in text.split(","):
        if not part.strip():
            continue
        if ":" not in part:
            raise _Unusable(f"'{echo(part)}' is not of the form leverage:weight (for example 10:0.25)")
        lev_s, w_s = part.split(":", 1)
        try:
            pairs.append((float(lev_s), float(w_s)))
        except ValueError:
            raise _Unusable(f"'{echo(part)}' does not hold two numbers") from None
    return pairs


def _weights(spec: Spec, raw: Any) -> Weights:
    pairs = _parse_weights(raw) if isinstance(raw, str) else [(float(a), float(b)) for a, b in raw]
    weights, note = check_tiers(pairs)
    if note:
        raise _Adjusted(weights, note)
    return weights


_CHECKS: Mapping[Kind, Callable[[Spec, Any], Any]] = MappingProxyType(
    {
        "symbol": _symbol,
        "symbols": _symbols,
        "choice": _choice,
        "steps": _steps,
        "number": _number,
        "toggle": _toggle,
        "weights": _weights,
        "when": _when,
    }
)


def _sentence(spec: Spec, raw: Any, why: str, used: Any, *, link: bool) -> str:
    given = f"The link's setting {spec.key}={echo(raw)!r}" if link else f"{spec.label}: {echo(raw)!r}"
    return f"{given} was not used as given: {why}. Using {shown(spec, used)} instead."


def check(spec: Spec, raw: Any, fallback: Any, *, link: bool = False) -> Checked:
    """``raw`` (a widget's or a link's value) checked against ``spec``: the value to store, and why it changed.

    Unusable values give ``fallback``; values out of bounds are clamped to the nearest bound (or option).
    """
    try:
        return Checked(_CHECKS[spec.kind](spec, raw))
    except _Adjusted as adj:
        return Checked(adj.value, _sentence(spec, raw, str(adj), adj.value, link=link))
    except _Unusable as err:
        return Checked(fallback, _sentence(spec, raw, str(err), fallback, link=link))


def from_text(spec: Spec, text: str, fallback: Any) -> Checked:
    """A link's query-parameter text checked against ``spec`` (too long: not read at all)."""
    text = str(text).strip()
    if len(text) > MAX_PARAM_CHARS:
        why = f"it is {len(text):,} characters long; a link value may have at most {MAX_PARAM_CHARS}"
        return Checked(fallback, _sentence(spec, text, why, fallback, link=True))
    if spec.kind in ("number", "steps") and not text:
        return Checked(fallback, _sentence(spec, text, "it is empty", fallback, link=True))
    return check(spec, text, fallback, link=True)


# --- the whole link ----------------------------------------------------------------------------------------
def follow(spec: Spec, s: Settings) -> Settings:
    """Settings that go with a new value of ``spec``: a preset brings its weights; weights name their preset."""
    if spec.field == "preset" and s.preset != "custom":
        return replace(s, weights=preset_weights(s.preset))
    if spec.field == "weights":
        return replace(s, preset=preset_of(s.weights))
    if spec.field == "range_key":  # a range brings an interval that suits it
        return replace(s, interval=suited_interval(s.interval, s.range_key))
    return s


def encode(s: Settings) -> dict[str, str]:
    """Settings -> query parameters (every setting, so a link is complete)."""
    return {spec.key: to_text(spec, getattr(s, spec.field)) for spec in SPECS}


def decode(params: Mapping[str, Any]) -> tuple[Settings, list[str]]:
    """Query parameters -> settings, plus a sentence for each value that was not used as given.

    Unknown parameters are ignored. Tier weights that pass the bounds but that the model refuses as a whole
    (they add up to zero) are kept, so the page can say what to fix.
    """
    s, problems, asked = DEFAULTS, [], None
    for spec in SPECS:
        if params.get(spec.key) is None:
            continue
        checked = from_text(spec, params[spec.key], getattr(s, spec.field))
        s = follow(spec, replace(s, **{spec.field: checked.value}))
        if checked.problem:
            problems.append(checked.problem)
        elif spec.field == "interval":
            asked = checked.value
    s = replace(s, interval=suited_interval(asked or s.interval, s.range_key))
    if asked is not None and asked != s.interval:
        problems.append(
            f"The link's interval {asked} does not suit the range {s.range_key}: using {s.interval} instead "
            f"(with {s.range_key} the intervals are {', '.join(intervals_for(s.range_key))})."
        )
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
    """Store ``settings`` (already checked) as the canonical copy for this session."""
    st.session_state[_STORE] = asdict(settings)


def link_problems() -> list[str]:
    """Sentences about settings in the opening link that were not used as given (empty when all was fine)."""
    return list(st.session_state.get(_PROBLEMS, []))


def sync_query_params(settings: Settings) -> None:
    """Mirror ``settings`` into the URL, touching only parameters that changed."""
    for key, value in encode(settings).items():
        if st.query_params.get(key) != value:
            st.query_params[key] = value


def share_url(settings: Settings) -> str:
    """A link that reproduces the current view (page plus every setting)."""
    base = getattr(st.context, "url", None) or ""
    return f"{base}?{urlencode(encode(settings), safe=':,')}"
