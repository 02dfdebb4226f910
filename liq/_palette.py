"""The app's colours, defined once: one colour per side, used by the chart, the Altair charts and the gauge.

Longs are liquidated below the price, shorts above it. The two colours are chosen to differ from each other
and from the candles' own up/down colours, and to stay readable on the dark and the light theme.

>>> SIDE_COLOURS["long"], SIDE_COLOURS["short"]
('#f6465d', '#2d9cdb')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "HEATMAP_RAMP",
    "HEATMAP_TOP_QUANTILE",
    "LONG_COLOUR",
    "NEUTRAL_COLOUR",
    "PRICE_COLOUR",
    "SHORT_COLOUR",
    "SIDE_COLOURS",
]

#: Long liquidations (below the price).
LONG_COLOUR = "#f6465d"
#: Short liquidations (above the price).
SHORT_COLOUR = "#2d9cdb"
#: The last price (rules and labels).
PRICE_COLOUR = "#f0b90b"
#: The middle of a two-sided scale (the asymmetry gauge at 0).
NEUTRAL_COLOUR = "#5e6673"

#: The heatmap's colour scale, dark to bright (the anchors of matplotlib's viridis): (position 0–1, colour).
#: The interactive chart and the still Altair picture both draw with it.
HEATMAP_RAMP: tuple[tuple[float, str], ...] = (
    (0.0, "#440154"),
    (0.25, "#3b528b"),
    (0.5, "#21918c"),
    (0.75, "#5ec962"),
    (1.0, "#fde725"),
)
#: The top colour sits at this quantile of the non-empty cells (brighter cells are clamped to it), so one
#: extreme cell does not darken the rest; the same rule on the chart and on the still picture.
HEATMAP_TOP_QUANTILE = 0.995

#: Colour of each side, by the side names the engine uses.
SIDE_COLOURS: Mapping[str, str] = MappingProxyType({"long": LONG_COLOUR, "short": SHORT_COLOUR})
