"""Placebo-in-space intervals, the inference rule, and placebos on a many-market world."""

from __future__ import annotations

import math

import numpy as np
import pytest

from models.geo.inference import (
    SPACE,
    TIME,
    PlaceboInSpace,
    choose_inference,
    placebo_in_space,
)
from models.geo.synthetic_control import FitSpec


@pytest.mark.parametrize(
    ("n_controls", "n_treated", "rule"),
    [(99, 1, SPACE), (38, 2, SPACE), (30, 10, SPACE), (29, 1, TIME), (60, 21, TIME), (7, 1, TIME)],
)
def test_the_rule_takes_markets_when_the_pool_is_large(n_controls, n_treated, rule) -> None:
    assert choose_inference(n_controls, n_treated) == rule


def test_placebo_interval_is_the_test_inversion_of_its_p_value() -> None:
    t = np.sort(np.random.default_rng(0).standard_t(5, 99))
    dist = PlaceboInSpace(t=t, estimate=40.0, scale=10.0)
    lo, hi = dist.interval(0.90)
    assert lo < 40.0 < hi
    eps = 1e-6
    assert dist.p_value(lo + eps) > 0.10 and dist.p_value(hi - eps) > 0.10
    assert dist.p_value(lo - 1e-3) <= 0.10 and dist.p_value(hi + 1e-3) <= 0.10
    # the ends are the placebo quantiles: estimate - scale * t
    assert hi == pytest.approx(40.0 - 10.0 * t[4]) and lo == pytest.approx(40.0 - 10.0 * t[-5])


def test_too_few_placebos_give_an_open_interval() -> None:
    dist = PlaceboInSpace(t=np.linspace(-2, 2, 15), estimate=0.0, scale=1.0)
    assert dist.interval(0.90) == (-math.inf, math.inf)


def test_placebos_are_calibrated_on_exchangeable_markets() -> None:
    # markets with the same shape and independent noise: the treated estimate's studentised
    # error is one more draw from the placebo distribution, so zero is rarely rejected and a
    # real effect is
    rng = np.random.default_rng(1)
    n_t, n_m = 20, 61
    season = 100 * (1 + 0.2 * np.sin(np.arange(n_t) / 3))
    panel = rng.poisson(season[:, None] * np.exp(rng.normal(0, 0.4, n_m))[None, :])
    y, x = panel[:, :2].sum(axis=1).astype(float), panel[:, 2:].astype(float)
    null = placebo_in_space(y, x, 4, 2, FitSpec(penalty=1.0))
    assert len(null.t) == 100 and null.p_value(0.0) > 0.10
    y_eff = y.copy()
    y_eff[-4:] -= 0.3 * y[-4:]
    dist = placebo_in_space(y_eff, x, 4, 2, FitSpec(penalty=1.0))
    lo, hi = dist.interval(0.90)
    assert dist.p_value(0.0) < 0.10 and lo <= -0.3 * y[-4:].sum() <= hi
