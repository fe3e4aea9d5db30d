"""The Streamlit app: `streamlit run app/main.py` (or `make app`).

Two pages in Streamlit's own multipage layout (st.navigation, one file per page in
app/pages/): check pictures, and the model card. The model starts loading in the
background as the first thing each page does (app/loader.py), so the page is usable at
once.
"""

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts app/ on sys.path, not the repository root (needed without pip -e).
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from app import memory  # noqa: E402 - needs the repository root on sys.path (above)

# Once per process: ~20 MB upload buffers handed back when freed (app/memory.py).
memory.fix_mmap_threshold()

# The tab icon is an emoji (drawn locally; a Material favicon is fetched from Google),
# the page icons are Material (bundled with Streamlit; emoji need a font a system may lack).
st.set_page_config(page_title="Real or AI-generated?", page_icon="🔎", layout="wide")
pages = [
    st.Page("pages/check.py", title="Check pictures", icon=":material/search:", default=True),
    st.Page("pages/model.py", title="The model", icon=":material/analytics:", url_path="model"),
]
st.navigation(pages).run()
