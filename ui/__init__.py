"""Streamlit-aware helpers of the app (the only place besides views/ and app.py that imports streamlit)."""
