"""Page: the published model card, view by view, with training curves and examples."""

from app import model_page

model_page.draw()
