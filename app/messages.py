"""Every sentence a visitor reads: verdict titles, what p_real means, and each error
turned into one plain sentence that says what to do. No Streamlit here."""

from __future__ import annotations

import re

TITLES = {
    "real": "Real photograph",
    "ai": "AI-generated",
    "uncertain": "Not sure",
    "too_small": "Too small to judge",
}
LEANS = {"real": "towards a real photograph", "ai": "towards AI-generated"}
TOO_SMALL = (
    "Too small to judge firmly: web pictures shrunk to this size were judged right only "
    "{accuracy} of the time, so this is no verdict; the model leans {lean} (p_real {p})."
)
UNSURE = (
    "The model is not sure: p_real {p} is inside {low}–{high}, too close to the middle to "
    "call either way. Another copy of the picture will not settle it (every picture is "
    "resized before it is judged): look at what the file says about itself below."
)
MEANING = (
    "p_real runs from 0 (AI-generated) to 1 (real photograph). The model judges small-scale "
    "pixel traces only: it does not look at faces, content or facts, so it cannot tell "
    "whether what a picture shows is true, and heavy editing or re-compression can mislead it."
)
NO_METADATA_NOTE = (
    "Missing metadata proves nothing: most websites and apps remove it from real "
    "photographs and AI pictures alike."
)
HEAT_CAPTION = {
    "ai": "Where the model saw signs of AI generation",
    "real": "Where the model saw signs of a real photograph",
}
CLASS_NAMES = {"real": "Real photograph", "modified": "Edited photograph", "ai": "AI-generated"}
REGION_CAPTION = {  # an occlusion map (model/region_map.py)
    "modified": "Where the model sees an edit (P(edited) {score}): the brighter, the more "
    "hiding that part lowers it",
    "not real": "Where the picture looks least real (1 − p_real {score}): the brighter, the "
    "more hiding that part lowers it",
}
SPREAD = {
    "modified": "The model finds an edit (P(edited) {score}), but no one part of the "
    "picture carries it.",
    "not real": "The picture looks unreal as a whole (1 − p_real {score}): hiding no one part "
    "changes that.",
}
NO_REGION = {
    "modified": "The model finds no edited region (P(edited) {score}).",
    "not real": "No part of the picture looks unreal to the model (1 − p_real {score}).",
}
NO_REGION_STANDS_OUT = (
    "No region stands out: the model's evidence is spread evenly over the picture, so "
    "this map points at nothing in particular."
)
HEAT_MAP_COMING = "The heat map follows in a moment; the verdict above does not wait for it."
NO_HEAT_MAP = "The heat map is not available right now; the verdict beside it is unaffected."
NO_WEB_HEAT_MAP = (
    "No heat map for web pictures: their verdict comes from the picture as a whole, "
    "through an ImageNet network, not from regions one could point at."
)
NO_MODEL = (
    "There is no model to check pictures with yet: whoever runs this app builds it with "
    "`make pipeline-offline` (or `dvc repro`), or points REALORAI_MODEL_DIR at a model folder."
)
BAD_MODEL = (
    "The model could not be loaded ({reason}), so pictures cannot be checked: whoever runs "
    "this app should rebuild it with `make pipeline-offline`."
)
BAD_SETTINGS = (
    "The app's settings file has a mistake ({reason}), so the app cannot start: whoever runs "
    "this app should fix params.yaml."
)
# Files the browser refuses (app/refused_uploads.py): over the uploader's cap (a file
# over max_mb but under the cap reaches the app: picture_problem's "file too large")
NOT_UPLOADED_TOO_LARGE = (
    "This file is larger than {cap_mb} MB, so it was not uploaded; choose a copy of the "
    "picture of at most {max_mb} MB."
)
NOT_UPLOADED = (
    "This file was not uploaded; use a JPEG, PNG, WebP, GIF, BMP or TIFF file of at most "
    "{max_mb} MB."
)
UNEXPECTED = "Something went wrong while checking this picture; try another picture."


def picture_problem(reason: str, *, max_mb: float, from_url: bool = False) -> str:
    """One plain sentence for why a picture's bytes cannot be checked (dataset.imaging's
    one-line ImageError reasons), saying what to do."""
    r = reason.lower()
    if r.startswith("file too large"):
        return f"This file is larger than {_mb(max_mb)} MB; choose a smaller copy of the picture."
    if r.startswith("image too large"):
        return (
            "This picture has too many pixels to check safely; shrink it below 50 megapixels "
            "and try again."
        )
    if "html page" in r:
        if from_url:
            return (
                "This address leads to a web page, not to a picture; right-click the picture "
                "itself, choose “Copy image address” and paste that."
            )
        return "This file is a saved web page, not a picture; upload the picture file itself."
    if "svg" in r:
        return "This is an SVG drawing, which the model cannot judge; export it as PNG or JPEG."
    if "json" in r:
        return "This file holds data, not a picture; choose a JPEG, PNG or WebP picture."
    if "empty" in r or "no pixels" in r:
        return "This file is empty; choose another picture."
    if "corrupt" in r or "truncated" in r:
        return (
            "This picture is damaged or incomplete, so it cannot be read; save it again or "
            "choose another copy."
        )
    return "This is not a picture the app can read; use a JPEG, PNG, WebP, GIF, BMP or TIFF file."


def fetch_problem(kind: str, *, max_mb: float, timeout: float) -> str:
    """One plain sentence for a URL that could not be fetched (scraper.http's error kinds)."""
    if kind == "empty":
        return "Paste the address of a picture, starting with http:// or https://."
    if kind == "private":
        return (
            "That is a local or private address (this computer or a private network), which "
            "the app does not fetch from; use the picture's public web address."
        )
    if kind == "refused":
        return (
            "The app only fetches pictures from public web addresses starting with http:// or "
            "https://; this address is refused."
        )
    if kind == "malformed URL":
        return "This address is not written correctly; copy it again from the address bar."
    if kind.startswith("HTTP 4"):
        return (
            f"The website answered that there is no picture for us at this address ({kind}); "
            "check the address."
        )
    if kind.startswith("HTTP"):
        return f"The website had a problem ({kind}); try again later or use another address."
    if kind == "timed out":
        return f"The website did not answer within {timeout:g} seconds; try again later."
    if kind == "too large":
        return f"The picture at this address is larger than {_mb(max_mb)} MB; use a smaller copy."
    if kind == "redirects":
        return "The website sent us around in circles; use the picture's own address."
    return "The website could not be reached; check the address or try again later."


def _mb(value: float) -> str:
    return f"{round(value, 2):g}"


# Every ASCII character that starts or closes a markdown construct anywhere in a line
# (emphasis, code, links and images, HTML, headings, tables, `:colour[...]` directives
# and emoji codes, `$` formulas, entities); "-", "+", "." and ")" start a list only at
# the beginning of a line, where `literal` escapes them too.
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#!|:~$&])")
_LIST_START = re.compile(r"^([-+]|\d{1,9}[.)])")


def literal(text: str) -> str:
    """Text from a file or a visitor (a file name, metadata) as st.markdown shows it
    literally: one line, every character that would make markdown of it backslash-escaped,
    so no heading, list, link, image, HTML tag, directive or formula is made of it."""
    text = _MARKDOWN.sub(r"\\\1", " ".join(str(text).split()))
    return _LIST_START.sub(lambda m: m[1][:-1] + "\\" + m[1][-1], text)
