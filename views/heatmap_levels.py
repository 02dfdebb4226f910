"""Liq. Heatmap & Levels: estimated liquidation density behind the candles, plus the exact levels."""

from ui import chart, help, panels, pipeline, recorded

view = pipeline.open_page(
    "Liq. Heatmap & Levels",
    "Binance USD-M futures. Heatmap, levels and USD figures are model estimates.",
)


def body() -> None:
    v = pipeline.refresh(view)
    panels.metrics_row(v.est.summary)
    shown = recorded.section(v, key="recorded")
    click = chart.show(v, levels=True, key="levels_chart", recorded=shown)
    recorded.summary(shown)
    cmp = shown.comparison if shown is not None else None
    panels.reading_row(v.est.summary)
    tables = panels.tables_for(v.config, v.data, cmp)
    panels.levels_panel(v.est, tables, click, key="levels")
    panels.swept_list(v.est, tables)
    panels.liquidation_map(v.config, v.data, key="levels_map")
    help.how_to_read()


pipeline.run_body(body, live=view.settings.live)
