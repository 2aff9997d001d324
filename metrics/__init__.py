"""Indeks Kota Cerdas core: everything the product knows, with no user interface in it.

The Streamlit dashboard and the `python -m metrics` CLI are both thin shells over this
package. Nothing here imports streamlit or plotly (a test checks this), so the rules are
the same whichever door the data comes in by.
"""

__version__ = "0.1.0"
TEMPLATE_VERSION = "1"
