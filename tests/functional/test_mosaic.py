"""Mosaic geometry: quadrant placements around the centre."""

from __future__ import annotations

import random

import pytest

from detmix.functional.mosaic import mosaic_placements, sample_mosaic_center, sample_mosaic_zoom, zoomed_center

pytestmark = pytest.mark.filterwarnings("error")


def test_placements_touch_the_centre_with_their_nearest_corner() -> None:
    sizes = [(480, 640), (640, 480), (320, 320), (100, 50)]
    placements = mosaic_placements(sizes, (640, 640), (300, 200))
    tl, tr, bl, br = placements
    assert tl.scaled_hw == (480, 640) and tl.offset_xy == (300 - 640, 200 - 480) and tl.region_xyxy == (0, 0, 300, 200)
    assert tr.scaled_hw == (640, 480) and tr.offset_xy == (300, 200 - 640) and tr.region_xyxy == (300, 0, 640, 200)
    assert bl.scaled_hw == (640, 640) and bl.offset_xy == (300 - 640, 200) and bl.region_xyxy == (0, 200, 300, 640)
    assert br.scaled_hw == (640, 320) and br.offset_xy == (300, 200) and br.region_xyxy == (300, 200, 620, 640)


def test_centre_at_the_far_corner_shows_only_the_primary() -> None:
    placements = mosaic_placements([(64, 64)] * 4, (64, 64), (64, 64))
    assert placements[0].region_xyxy == (0, 0, 64, 64)
    assert all(p.is_empty for p in placements[1:])


def test_degenerate_center_range_gives_the_exact_centre() -> None:
    assert sample_mosaic_center(random.Random(0), (480, 640), (0.5, 0.5)) == (320, 240)


def test_center_sampling_is_reproducible_and_in_range() -> None:
    draws = [sample_mosaic_center(random.Random(seed), (100, 200), (0.25, 0.75)) for seed in range(50)]
    assert draws == [sample_mosaic_center(random.Random(seed), (100, 200), (0.25, 0.75)) for seed in range(50)]
    assert all(50 <= x <= 150 and 25 <= y <= 75 for x, y in draws)
    assert len(set(draws)) > 40


def test_zoom_scales_every_source_and_moves_the_centre_about_the_middle() -> None:
    centre = zoomed_center((300, 200), (640, 640), 0.5, (10.0, -20.0))
    assert centre == (320 + 0.5 * (300 - 320) + 10, 320 + 0.5 * (200 - 320) - 20)
    placements = mosaic_placements([(480, 640), (640, 480), (320, 320), (100, 50)], (640, 640), centre, 0.5)
    assert [p.scaled_hw for p in placements] == [(240, 320), (320, 240), (320, 320), (320, 160)]
    tl, tr, bl, br = placements
    assert tl.region_xyxy == (centre[0] - 320, centre[1] - 240, *centre)
    assert br.region_xyxy == (*centre, centre[0] + 160, centre[1] + 320)


def test_a_centre_outside_the_output_empties_the_quadrants_it_left() -> None:
    placements = mosaic_placements([(64, 64)] * 4, (64, 64), (-10, 30), 2.0)
    assert placements[0].is_empty and placements[2].is_empty
    assert placements[1].region_xyxy == (0, 0, 64, 30) and placements[3].region_xyxy == (0, 30, 64, 64)


def test_zoom_draws_nothing_when_fixed_and_stays_in_range() -> None:
    rng = random.Random(3)
    state = rng.getstate()
    assert sample_mosaic_zoom(rng, (100, 200), (1.0, 1.0), 0.0) == (1.0, (0.0, 0.0))
    assert rng.getstate() == state, "the default Mosaic's random stream must not change"
    draws = [sample_mosaic_zoom(random.Random(seed), (100, 200), (0.5, 1.5), 0.1) for seed in range(50)]
    assert all(0.5 <= s <= 1.5 and abs(dx) <= 20 and abs(dy) <= 10 for s, (dx, dy) in draws)
    assert len({s for s, _ in draws}) == 50
