"""The simulator's true transforms (the forms worlds are made with), by hand."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.transforms import (
    convolve,
    geometric_weights,
    hill,
    logistic,
    logistic_lam,
    weibull_scale_for_peak,
    weibull_weights,
)


def test_adstock_and_hill_by_hand() -> None:
    x = np.array([[1.0, 0.0, 0.0]])
    w0 = 1 / sum(0.5**i for i in range(8))
    np.testing.assert_allclose(convolve(x, geometric_weights(0.5, 8)), [[w0, w0 * 0.5, w0 * 0.25]])
    np.testing.assert_allclose(hill(np.array([0.0, 2.0]), 2.0, 1.5), [0.0, 0.5])


@pytest.mark.parametrize("peak", [1, 2, 3])
def test_weibull_kernel_peaks_late(peak) -> None:
    w = weibull_weights(2.5, weibull_scale_for_peak(peak), 10)
    assert w.sum() == pytest.approx(1) and int(np.argmax(w)) == peak
    k, lam = 2.5, weibull_scale_for_peak(peak)
    t = np.arange(1, 11)
    by_hand = (k / lam) * (t / lam) ** (k - 1) * np.exp(-((t / lam) ** k))
    np.testing.assert_allclose(w, by_hand / by_hand.sum())


def test_logistic_is_half_at_its_half_saturation() -> None:
    lam = logistic_lam(2.0)
    np.testing.assert_allclose(logistic(np.array([0.0, 2.0, 1e6]), lam), [0.0, 0.5, 1.0])
