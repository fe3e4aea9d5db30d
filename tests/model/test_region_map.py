"""model/region_map.py: the occlusion map of where a whole-view picture looks edited,
on a model built to respond to a brightened region (a dataset.modified colour edit)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from dataset.modified import local_colour, region_mask
from model.classes import CLASSES, MODIFIED, probabilities
from model.region_map import MODIFIED_TARGET, NOT_REAL_TARGET, occlusion_map, window_origins
from model.serve import Predictor
from tests.helpers import SIZE, publish_tiny, region_model, tiny_card, whole_view

BOX = (4, 20, 12, 12)  # top, left, height, width: a third of the picture's side


def edited_picture() -> tuple[np.ndarray, np.ndarray]:
    """A grey picture with one region brightened through the modified set's own feathered
    mask (a colour edit), and that mask."""
    grey = np.full((SIZE, SIZE, 3), 128, np.uint8)
    mask = region_mask(SIZE, BOX, feather=2)
    return local_colour(grey, mask, (1.8, 1.8, 1.8)), mask


@pytest.fixture(scope="module")
def model():
    return region_model()


def p_modified(model):
    logits = keras.Model(model.inputs, model.get_layer("logits").output)

    def score(batch):
        return probabilities(np.asarray(logits(batch)))[:, MODIFIED]

    return score


def test_the_map_peaks_inside_the_edited_region(model):
    picture, mask = edited_picture()
    region = occlusion_map(p_modified(model), picture, MODIFIED_TARGET)
    assert region.found and region.score > 0.9
    assert region.heat.shape == (SIZE, SIZE) and region.heat.dtype == np.float32
    assert np.isfinite(region.heat).all() and 0 <= region.heat.min() <= region.heat.max() <= 1
    peak = np.unravel_index(np.argmax(region.heat), region.heat.shape)
    assert mask[peak] > 0
    inside, outside = region.heat[mask == 255].mean(), region.heat[mask == 0].mean()
    assert inside > 5 * outside


def test_hiding_the_edited_region_lowers_the_score_most(model):
    picture, _ = edited_picture()
    score = p_modified(model)
    window = 9
    origins = window_origins(SIZE, window, 3)
    hidden = []
    for top, left in origins:
        copy = picture.copy()
        copy[top : top + window, left : left + window] = picture.reshape(-1, 3).mean(axis=0)
        hidden.append(copy)
    drops = score(picture[None])[0] - score(np.stack(hidden))
    top, left = origins[int(np.argmax(drops))]
    # the window that matters most overlaps the edited box
    assert BOX[0] - window < top < BOX[0] + BOX[2] and BOX[1] - window < left < BOX[1] + BOX[3]


def test_an_unedited_picture_has_no_region(model):
    grey = np.full((SIZE, SIZE, 3), 128, np.uint8)
    region = occlusion_map(p_modified(model), grey, MODIFIED_TARGET)
    assert not region.found and np.isfinite(region.heat).all()


def test_windows_cover_the_whole_picture():
    covered = np.zeros((SIZE, SIZE), bool)
    for top, left in window_origins(SIZE, 9, 4):  # 36 - 9 is not a multiple of 4
        covered[top : top + 9, left : left + 9] = True
    assert covered.all()


@pytest.mark.parametrize("engine", ["keras", "numpy"])
def test_the_predictor_maps_p_modified_with_either_engine(tmp_path, model, engine):
    card = tiny_card(views={"whole": whole_view(classes=list(CLASSES), temperature=1.0)})
    folder = publish_tiny(tmp_path / "three", card=card, model=model)
    predictor = Predictor.load(folder, uncertain_band=0.2, engine=engine)
    picture, mask = edited_picture()
    region = predictor.region_map(picture)
    assert region.target == MODIFIED_TARGET and region.found
    assert mask[np.unravel_index(np.argmax(region.heat), region.heat.shape)] > 0


def test_a_two_class_model_maps_where_the_picture_looks_least_real(tmp_path):
    """The tiny two-class model calls dark pictures ai: a dark square on a light picture
    is where hiding lowers 1 - p_real most."""
    predictor = Predictor.load(publish_tiny(tmp_path / "two"), uncertain_band=0.2)
    picture = np.full((SIZE, SIZE, 3), 150, np.uint8)
    picture[20:32, 2:14] = 0
    region = predictor.region_map(picture)
    assert region.target == NOT_REAL_TARGET and region.heat.shape == (SIZE, SIZE)
    peak = np.unravel_index(np.argmax(region.heat), region.heat.shape)
    assert 20 - 4 <= peak[0] < 32 + 4 and 2 - 4 <= peak[1] < 14 + 4
    assert region.heat[:12, 24:].max() < region.heat.max() / 2
