"""Bantuan: the help guide on screen and as a printable PDF, for every visitor (signed in or not).

The content comes from metrics.guide (the same model the PDF is printed from: steps, every error
message of the catalogue, the admin's help contact, the browser tests' screenshots that exist);
this page only draws it. The PDF is made when the button is clicked.
"""

import streamlit as st

from metrics import guide
from ui import shell
from ui.shell import md_escape, tr

store = shell.get_store()
lang = shell.lang()
folder = guide.screenshots_folder()
g = shell.cached(guide.help_guide, store, lang, folder)

st.title(tr("page.help"))
st.caption(md_escape(g.subtitle))
st.download_button(
    tr("help.download"),
    data=lambda: guide.guide_pdf(store, lang, folder).pdf,
    file_name=guide.file_name(lang),
    mime="application/pdf",
    icon=":material/picture_as_pdf:",
    help=tr("help.download_help"),
    key="help_pdf",
)
st.markdown(md_escape(g.intro))
for sec in g.sections:
    st.subheader(md_escape(sec.title))
    st.markdown(shell.md_list(sec.items, numbered=True))
    if sec.shots:
        with st.expander(tr("help.screens")):
            for shot in sec.shots:
                st.image(str(shot.path), caption=shot.caption)
st.subheader(md_escape(g.errors_title))
st.caption(md_escape(g.errors_intro))
for group in g.errors:
    with st.expander(f"{md_escape(group.title)} ({len(group.messages)})"):
        st.markdown(shell.md_list(text for _key, text in group.messages))
st.subheader(md_escape(g.ask.title))
for p in g.ask.paragraphs:
    st.markdown(md_escape(p))
