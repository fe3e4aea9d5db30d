"""Every CSS selector and page marker the scraper relies on, in one place.

Google renames its obfuscated classes every few months; when the scraper finds no
results, this is the file to update. Each list is tried in order: today's classes
first, then structural selectors (data attributes Google's own scripts need, which
outlive class renames), then older layouts. When anything but the first entry
matches, the scraper logs one warning naming it, so a change is noticed before
the fallbacks run out.
"""

from __future__ import annotations

# One result tile: the element carrying the result's document id. udm=2 Images
# (2024-): <div class="eA0Zlc ..." data-docid="..." data-lpage="<source page>">.
TILES = (
    "div.eA0Zlc[data-docid]",
    "[data-docid]",
    "[data-lpage]",
    "[data-ref-docid]",
    "#islrg div.isv-r",  # the grid before udm=2
)

# The thumbnail inside a tile: <g-img><img class="YQ4gaf" src="data:..."></g-img>.
TILE_IMAGES = ("g-img img.YQ4gaf", "img.YQ4gaf", "img.rg_i", "img.Q4LuWd", "img")

# The full-size picture in the preview panel opened by clicking a tile.
# Today: <img jsname="kn3ccd" class="sFlh5c ...">; older: img.n3VNCb / iPVvYb / r48jcc.
# Structural: the panel is the container marked data-lhcontainer; its picture is the
# one with a web (not data:) URL.
PREVIEW_IMAGES = (
    'img[jsname="kn3ccd"]',
    "img.sFlh5c",
    "[data-lhcontainer] img[src^='http']",
    "img.iPVvYb",
    "img.r48jcc",
    "img.n3VNCb",
)

# Preview srcs that are still the thumbnail, shown while the full picture loads.
THUMBNAIL_URL_PREFIXES = ("data:", "https://encrypted-tbn", "http://encrypted-tbn")

# The old "Show more results" button at the end of a results page.
SHOW_MORE_BUTTONS = ("input.mye4qd", "input[value='Show more results']")

# Consent interstitial (consent.google.com or an overlay on the results page).
# Found by structure first: forms posting to Google's consent endpoint (…/save on
# consent.google.*), one per button; the reject form carries set_eom=true. The
# button texts are the fallback, for a page that posts elsewhere or by script.
CONSENT_FORM_ACTION_HOSTS = ("consent.google.", "consent.youtube.")
CONSENT_FORM_ACTION_PATHS = ("/save",)
CONSENT_REJECT_FIELD = ("set_eom", "true")
CONSENT_BUTTON_TAGS = ("button", "input[type=submit]", "div[role=button]")
CONSENT_BUTTON_TEXTS = (  # reject first: it is enough to see results and shares less
    "reject all",
    "alle ablehnen",
    "odrzuć wszystko",
    "tout refuser",
    "rechazar todo",
    "rifiuta tutto",
    "alles afwijzen",
    "rejeitar tudo",
    "accept all",
    "alle akzeptieren",
    "zaakceptuj wszystko",
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
