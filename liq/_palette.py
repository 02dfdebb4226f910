"""The app's colours, defined once: one colour per side, used by the chart, the Altair charts and the gauge.

Longs are liquidated below the price, shorts above it. The two colours are chosen to differ from each other
and from the candles' own up/down colours, and to stay readable on the dark and the light theme.

>>> SIDE_COLOURS["long"], SIDE_COLOURS["short"]
('#f6465d', '#2d9cdb')
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

__all__ = ["LONG_COLOUR", "NEUTRAL_COLOUR", "PRICE_COLOUR", "SHORT_COLOUR", "SIDE_COLOURS"]

#: Long liquidations (below the price).
LONG_COLOUR = "#f6465d"
#: Short liquidations (above the price).
SHORT_COLOUR = "#2d9cdb"
#: The last price (rules and labels).
PRICE_COLOUR = "#f0b90b"
#: The middle of a two-sided scale (the asymmetry gauge at 0).
NEUTRAL_COLOUR = "#5e6673"

#: Colour of each side, by the side names the engine uses.
SIDE_COLOURS: Mapping[str, str] = MappingProxyType({"long": LONG_COLOUR, "short": SHORT_COLOUR})
