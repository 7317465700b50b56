"""The spend modes: each reshapes the spend it is about and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from simulator import WorldConfig, simulate_world

SMALL = {"seed": 9, "n_geos": 8, "n_weeks": 104}


@pytest.fixture(scope="module")
def base():
    return simulate_world(WorldConfig(**SMALL))


def _spend(world, channel: str) -> np.ndarray:
    return world.panel.spend[:, :, world.panel.channels.index(channel)]


def _unchanged_except(world, base, changed: set[str]) -> None:
    for ch in set(base.panel.channels) - changed:
        np.testing.assert_array_equal(_spend(world, ch), _spend(base, ch), err_msg=ch)


def test_national_flights_share_weeks_across_markets(base) -> None:
    world = simulate_world(WorldConfig(national_flights=True, **SMALL))
    before_tests = slice(0, 104 - 52)  # the social scale-up adds a flight in some markets
    social, display = (_spend(world, c)[:, before_tests] > 0 for c in ("social", "display"))
    assert (social == social[0]).all() and (display == display[0]).all()
    assert not (social[0] == display[0]).all()  # each channel has its own calendar
    assert not (_spend(base, "social")[:, before_tests] > 0).all(axis=0).all()
    _unchanged_except(world, base, {"social", "display", "tv", "ctv"})


def test_quarterly_budgets_move_always_on_spend_by_quarter_and_market(base) -> None:
    world = simulate_world(WorldConfig(quarterly_budgets=True, **SMALL))
    before_tests = slice(0, 104 - 52)  # the search holdout zeroes some markets later
    ratio = _spend(world, "search")[:, before_tests] / _spend(base, "search")[:, before_tests]
    quarters = (np.arange(ratio.shape[1]) + 8) // 13  # 8 burn-in weeks come first
    for q in np.unique(quarters):
        block = ratio[:, quarters == q]
        assert np.allclose(block, block[:, :1], rtol=0.01)  # constant within a quarter
    assert np.std(np.log(ratio[:, 0])) > 0.1  # and different between markets
    _unchanged_except(world, base, {"search"})


def test_staggered_mail_drops_once_a_quarter_in_different_weeks(base) -> None:
    world = simulate_world(WorldConfig(staggered_mail=True, **SMALL))
    mail = _spend(world, "direct_mail") > 0
    for g in range(mail.shape[0]):
        drops = np.flatnonzero(mail[g])
        assert (np.diff(drops) == 13).all()
    assert len({int(np.flatnonzero(m)[0]) for m in mail}) > 3
    _unchanged_except(world, base, {"direct_mail"})


def test_flat_channel_barely_moves(base) -> None:
    world = simulate_world(WorldConfig(flat_channel=True, **SMALL))

    def week_to_week(s: np.ndarray) -> float:
        return float(np.median(np.std(s, axis=1) / np.mean(s, axis=1)))

    test_weeks = np.ones(104, dtype=bool)
    test_weeks[104 - 40 : 104 - 32] = False  # the search holdout zeroes some markets
    assert week_to_week(_spend(world, "search")[:, test_weeks]) < 0.03
    assert week_to_week(_spend(base, "search")[:, test_weeks]) > 0.1
    _unchanged_except(world, base, {"search"})


def test_spend_pauses_stop_all_media_before_the_last_year(base) -> None:
    world = simulate_world(WorldConfig(spend_pauses=True, **SMALL))
    total = world.panel.spend.sum(axis=(0, 2))
    paused = np.flatnonzero(total == 0)
    assert 4 <= len(paused) <= 8 and paused.max() < 104 - 52
    before_tests = np.setdiff1d(np.arange(104 - 52), paused)
    np.testing.assert_array_equal(
        world.panel.spend[:, before_tests], base.panel.spend[:, before_tests]
    )
