"""Page: upload pictures or give a URL; a verdict, p_real and a heat map for each."""

from app import ui

ui.check_page()
