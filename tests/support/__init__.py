"""Helpers the tests and the benchmarks share: a real Streamlit server and Chromium, an offline machine."""
