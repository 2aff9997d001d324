"""Streamlit-side helpers shared by dashboard.py and the pages.

Everything that needs Streamlit (the cached connection, session state, the signed-in user,
the sidebar filters, UI labels) lives here so that `metrics/` stays free of it and the pages
stay thin: read the filters, call one core function, draw.
"""
