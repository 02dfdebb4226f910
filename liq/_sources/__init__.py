"""Market-data sources: live Binance, the public archive, the built-in sample and uploads, plus the chain."""
