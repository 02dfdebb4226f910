import streamlit as st

st.title("Liq. Heatmap & Levels")
st.info("The estimation engine is being built: the combined heatmap and exact liquidation levels will appear here.")
