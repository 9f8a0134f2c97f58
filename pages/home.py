"""Home: what each page shows, and a suggested path through a lecture."""
import streamlit as st

st.title("Attention Visualizer")
st.markdown(
    "See what every head of a transformer attends to. Every page works offline, from small "
    "models that ship with the app, or from a model you train here in seconds.")
