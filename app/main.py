"""The Streamlit app: `streamlit run app/main.py` (or `make app`).

Two pages: check pictures (upload or URL) and the model card. Settings come from
params.yaml (`app`) and the environment (see app/logic.py).
"""

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts app/ on sys.path, not the repository root (needed without pip -e).
ROOT = str(Path(__file__).resolve().parents[1])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# The tab icon is an emoji (drawn locally; a Material favicon is fetched from Google),
# the page icons are Material (bundled with Streamlit; emoji need a font a system may lack).
st.set_page_config(page_title="Real or AI-generated?", page_icon="🔎", layout="wide")
pages = [
    st.Page("page_check.py", title="Check pictures", icon=":material/search:", default=True),
    st.Page("page_model.py", title="The model", icon=":material/analytics:", url_path="model"),
]
st.navigation(pages).run()
