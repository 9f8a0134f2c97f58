"""Streamlit glue shared by the pages: cached model loading, the sidebar, per-user state.

The only Streamlit-aware code besides app.py and views/; it calls core/ and never computes
attention itself.
"""
