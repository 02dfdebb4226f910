"""Levels screener: the nearest estimated liquidation levels of many perpetuals in one sortable table."""

from ui import screener

screener.page()
