"""Pixel facets: thresholds on generated frames, and a check on real photos."""

from __future__ import annotations

import numpy as np
import pytest
from media import _photo_path, scene_image
from PIL import Image

from hourlens.indexer import facets as F

SIZE = (320, 180)


def solid(rgb: tuple[int, int, int]) -> np.ndarray:
    return np.tile(np.asarray(rgb, np.uint8), (SIZE[1], SIZE[0], 1))


def facets_of(*frames: np.ndarray, faces: int = 0) -> dict[str, float]:
    probe = F.FrameProbe()
    return F.memory_facets([probe(f) for f in frames], faces)


@pytest.mark.parametrize(
    ("rgb", "colour"),
    [
        ((220, 30, 30), "red"),
        ((240, 140, 20), "orange"),
        ((235, 220, 40), "yellow"),
        ((40, 180, 60), "green"),
        ((30, 60, 210), "blue"),
        ((130, 40, 200), "purple"),
        ((230, 60, 170), "pink"),
        ((110, 70, 30), "brown"),
        ((250, 250, 250), "white"),
        ((5, 5, 5), "black"),
        ((128, 128, 128), "grey"),
    ],
)
def test_a_frame_of_one_colour_has_that_colour_only(rgb, colour):
    got = facets_of(solid(rgb))
    assert got[colour] == 1.0
    assert all(got[c] == 0.0 for c in F.COLOURS if c != colour), got


def test_light_and_colourfulness_on_generated_frames():
    assert facets_of(solid((12, 12, 20)))["dark"] == 1.0
    assert facets_of(solid((240, 240, 235)))["bright"] == 1.0
    mid = facets_of(solid((120, 110, 100)))
    assert mid["dark"] == mid["bright"] == 0.0
    assert facets_of(solid((128, 128, 128)))["greyscale"] == 1.0
    bars = facets_of(scene_image("bars", SIZE))
    assert bars["colourful"] == 1.0 and bars["greyscale"] == 0.0
    assert facets_of(solid((128, 128, 128)))["colourful"] == 0.0


def test_motion_needs_change_between_frames():
    a = scene_image("circles", SIZE)
    assert facets_of(a, a, a)["motion"] == 0.0
    moved = facets_of(a, np.roll(a, 40, axis=1), a)
    assert moved["motion"] > 0.5


def test_cover_facets_on_generated_frames():
    sky = solid((90, 150, 230))
    sky[SIZE[1] // 2 :] = (90, 90, 90)  # grey ground under a blue sky
    assert facets_of(sky)["sky"] == 1.0 and facets_of(sky)["water"] == 0.0
    lake = solid((200, 200, 190))
    lake[SIZE[1] // 2 :] = (30, 90, 160)  # water under a pale shore
    assert facets_of(lake)["water"] > 0.5
    assert facets_of(solid((50, 140, 40)))["vegetation"] == 1.0
    assert facets_of(solid((200, 60, 60)))["vegetation"] == 0.0


def photo(kind: str) -> np.ndarray:
    path = _photo_path(kind)
    if path is None or not path.exists():
        pytest.skip(f"the {kind} photo's package is not installed")
    with Image.open(path) as im:
        im = im.convert("RGB")
        return np.asarray(im.resize((round(im.width * 256 / im.height), 256)))


def test_real_photos():
    hopper = photo("hopper")  # a portrait: a face, navy blue, not greyscale
    thumb = np.asarray(Image.fromarray(hopper).resize((320, 320 * 256 // hopper.shape[1])))
    assert F.count_faces(thumb) >= 1
    got = facets_of(hopper, faces=F.count_faces(thumb))
    assert got["face"] == 1.0 and got["greyscale"] == 0.0 and got["blue"] > 0.5
    china = photo("china")  # a pagoda under a pale sky
    assert facets_of(china)["sky"] > 0.5
    assert F.count_faces(china) == 0
    flower = photo("flower")  # an orange dahlia against blue
    got = facets_of(flower)
    assert got["orange"] > 0.3 and got["colourful"] > 0.5
    grey = np.repeat(np.asarray(Image.fromarray(china).convert("L"))[..., None], 3, axis=2)
    assert facets_of(grey)["greyscale"] == 1.0 and facets_of(china)["greyscale"] == 0.0


def test_faces_are_not_found_in_patterns():
    for kind in ("bars", "checker", "noise", "blocks", "stripes"):
        assert F.count_faces(scene_image(kind, SIZE)) == 0, kind
