"""Page: upload pictures or give a URL; a verdict, its reliability and the file's own
evidence for each."""

from app import check_page

check_page.draw()
