"""Streamlit-aware helpers of the app (the only place besides pages/ and app.py that imports streamlit)."""
