"""The "How to read this" help, in plain words, shared by the market pages."""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from liq import ModelConfig
from liq._levels import cascade_rule

__all__ = ["ESTIMATE_NOTE", "how_to_read"]

ESTIMATE_NOTE = (
    "Estimated by a model from candles (and open interest when available); not observed liquidations."
)


def how_to_read(*, expanded: bool = False, extra: Sequence[str] = ()) -> None:
    """The "How to read this" expander, in plain words."""
    with st.expander("How to read this", expanded=expanded, icon=":material/help:"):
        st.markdown(
            """
**Everything here is an estimate.** Binance does not publish where traders' liquidation prices are. The app
replays recent candles (and open interest when it has it), assumes a mix of leverage for the positions opened
in each candle, and works out where each of those positions would be force-closed. Positions that price has
already run through are removed.

- **Heatmap (density):** the colour of a cell is the estimated USD that would be liquidated if price traded
  there at that time. Brighter means more. Long positions are liquidated *below* the price, shorts *above*.
- **Level:** one price where the estimate piles up, with its USD. The line on the chart is the USD-weighted
  average of the exact liquidation prices in that pile, not the middle of a colour band.
- **Zone:** the price band around a level where the density stays above the significance threshold.
- **Distance:** how far price must move, in percent, to reach the level.
- **Approaches survived:** how often price came near a level without reaching it.
- **Swept:** levels that price already ran through; those positions are gone.

**Readings that lean bullish**
- Large short levels close above price: if price gets there, forced buying can speed the move up.
- Long levels below that were recently swept: the downside fuel has already been burned.

**Readings that lean bearish**
- Large long levels just under price: a small dip can set off forced selling.
- Several long levels stacked close together (flagged as cascade risk): one can trigger the next.

**How big are the dollars?** A level's USD is the estimated value of the positions whose liquidation price
sits there, not a forecast of the liquidation total. Only a small levered share of open interest (2 % by
default) is placed at the leverage tiers: most open interest is hedged or well collateralised and is not near
liquidation. Positions also close: in the OI model they follow open interest itself; in the volume model they
close at the rate Binance's measured turnover implies (a half-life of about 45 hours). Checked on Binance BTCUSDT
over 2023 to mid-2024, the modelled positions per side were 1.06 times the real open interest, and the swept USD
was about 1.5 times the liquidations the public stream recorded (a lower bound), with a daily rank correlation of
+0.83. The note under the chart says which model set the scale.

**Asymmetry** compares shorts above with longs below within ±5 %. A clearly positive number says more
liquidation fuel sits above (an upward pull); a clearly negative one says it sits below (a downward pull).

**Tips**
- Levels work as targets and as places to keep your stop away from: price is often drawn to them and may
  reverse after clearing them.
- Do not count on price stopping at the first level: a cascade can run through several in a row.
- Check levels against ordinary chart levels (support, resistance, round numbers); where they agree the
  level is more convincing.
- Compare the picture across ranges and leverage presets: a level that shows up in all of them is sturdier.
"""
        )
        st.markdown(
            f"**When is a level flagged as cascade risk?** For {cascade_rule(ModelConfig().cascade_gap_pct)}. "
            "Such a chain is close enough to be reached, and each forced order can carry price into the next "
            "level. Most levels are not flagged: a flag is worth acting on (keep stops clear of the chain)."
        )
        st.markdown(
            "**Faint dots on the chart** mark swept clusters: neighbouring price bins the model says were "
            "liquidated, merged into one cluster, at the bar where price first and last ran through them. "
            "The Swept levels table below the chart lists them."
        )
        for line in extra:
            st.markdown(line)
