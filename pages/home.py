"""Home: what each page shows, and a suggested path through a lecture."""
import streamlit as st

from ui.navigation import LECTURE_PATH, PAGES, ensure_router, entry, existing, page_path

ensure_router()
st.title("Attention Visualizer")
st.markdown(
    "See what every head of a transformer attends to. Every page works offline, from small "
    "models that ship with the app (pick one in the sidebar), or from a model you train here "
    "in seconds.")

shown = {e[0] for entries in PAGES.values() for e in existing(entries)}
path = [f for f in LECTURE_PATH if f in shown]
st.subheader(f"A lecture in {len(path)} steps")
for n, file in enumerate(path, 1):
    _, title, icon, blurb = entry(file)
    st.page_link(page_path(file), label=f"{n}. {title}", icon=icon)
    st.caption(blurb)

st.subheader("Every page")
for section, entries in PAGES.items():
    st.markdown(f"**{section}**")
    for file, title, icon, blurb in existing(entries):
        if file != "home.py":
            st.page_link(page_path(file), label=f"{title}: {blurb}", icon=icon)
