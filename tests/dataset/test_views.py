"""The web view's square crops (dataset/views.py): what the backbone sees of a picture."""

import numpy as np

from dataset.imaging import resize_image
from dataset.views import crop_count, square_crops
from tests.helpers import ROOT, WEB_CROPS


def picture(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)


def test_a_square_picture_is_one_square_resized():
    rgb = picture(90, 90)
    crops = square_crops(rgb, 32, 3)
    assert crops.shape == (1, 32, 32, 3)
    np.testing.assert_array_equal(crops[0], resize_image(rgb, 32))


def test_an_oblong_picture_is_covered_end_to_end_without_stretching():
    rgb = picture(60, 90)  # 3:2
    crops = square_crops(rgb, 30, 3)
    assert crops.shape == (2, 30, 30, 3)
    np.testing.assert_array_equal(crops[0], resize_image(rgb[:, :60], 30))
    np.testing.assert_array_equal(crops[1], resize_image(rgb[:, 30:], 30))
    tall = square_crops(rgb.transpose(1, 0, 2), 30, 3)  # the same for a portrait picture
    np.testing.assert_array_equal(tall, crops.transpose(0, 2, 1, 3))


def test_at_most_max_crops_evenly_spaced_and_one_is_the_centre():
    rgb = picture(50, 400)
    assert crop_count(50, 400, 3) == 3 and crop_count(50, 400, 8) == 8
    crops = square_crops(rgb, 25, 3)
    for crop, start in zip(crops, (0, 175, 350), strict=True):
        np.testing.assert_array_equal(crop, resize_image(rgb[:, start : start + 50], 25))
    np.testing.assert_array_equal(square_crops(rgb, 25, 1)[0], crops[1])


def test_a_thread_thin_picture_costs_its_crops_not_its_enlarged_length():
    crops = square_crops(picture(2, 40_000), 240, 3)  # enlarged whole: 240 x 4.8M pixels
    assert crops.shape == (3, 240, 240, 3) and crops.dtype == np.uint8


def test_the_tests_crop_count_is_the_shipped_one():
    from settings import params

    assert params.load("web", ROOT / "params.yaml").crops == WEB_CROPS
