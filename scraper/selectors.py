"""Every CSS selector and page marker the scraper relies on, in one place.

Google renames its obfuscated classes every few months; when the scraper finds no
results, this is the file to update. Each list is tried in order (today's layout
first, older layouts after), so one renamed class does not stop the scraper.
"""

from __future__ import annotations

# Result thumbnails. udm=2 Images (2024-): <g-img><img class="YQ4gaf" ...></g-img>.
# Older: #islrg grid of div.isv-r with img.rg_i / img.Q4LuWd.
THUMBNAILS = (
    "g-img img.YQ4gaf",
    "img.YQ4gaf",
    "#islrg div.isv-r img.rg_i",
    "div.isv-r img",
    "img.rg_i.Q4LuWd",
    "img.Q4LuWd",
)

# The full-size picture in the preview panel opened by clicking a thumbnail.
# Today: <img jsname="kn3ccd" class="sFlh5c ...">; older: img.n3VNCb / iPVvYb / r48jcc.
PREVIEW_IMAGES = (
    'img[jsname="kn3ccd"]',
    "img.sFlh5c",
    "img.iPVvYb",
    "img.r48jcc",
    "img.n3VNCb",
)

# Preview srcs that are still the thumbnail, shown while the full picture loads.
THUMBNAIL_URL_PREFIXES = ("data:", "https://encrypted-tbn", "http://encrypted-tbn")

# The old "Show more results" button at the end of a results page.
SHOW_MORE_BUTTONS = ("input.mye4qd", "input[value='Show more results']")

# Consent interstitial (consent.google.com or an overlay on the results page).
# Buttons are matched by their text: the classes are obfuscated and change, the
# words do not. Reject first: it is enough to see results and shares less.
CONSENT_BUTTON_TAGS = ("button", "input[type=submit]", "div[role=button]")
CONSENT_BUTTON_TEXTS = (
    "reject all",
    "alle ablehnen",
    "tout refuser",
    "rechazar todo",
    "rifiuta tutto",
    "alles afwijzen",
    "rejeitar tudo",
    "accept all",
    "alle akzeptieren",
    "tout accepter",
    "aceptar todo",
    "accetta tutto",
    "alles accepteren",
    "aceitar tudo",
    "i agree",
)
CONSENT_URL_MARKERS = ("consent.google.", "/consent")

# The "unusual traffic" (captcha) page Google shows a client it suspects is a bot.
BLOCKED_URL_MARKERS = ("/sorry/",)
BLOCKED_SELECTORS = ("form#captcha-form", "#recaptcha", "div.g-recaptcha")
BLOCKED_TEXTS = (
    "our systems have detected unusual traffic",
    "unusual traffic from your computer network",
)
