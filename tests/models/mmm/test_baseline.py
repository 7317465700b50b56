"""The national fit's baseline coordinates (models.mmm.baseline)."""

import numpy as np
import pytest

from models.mmm.fit import MMMConfig
from models.mmm.model import build_model, model_data


def test_national_baseline_is_only_a_change_of_coordinates(tiny_panel) -> None:
    """A national fit samples its baseline in other coordinates; the model must not change.

    At random points, its potentials must equal the stated Normal priors of trend, seasonality,
    holiday, controls and ``a0`` at the mapped values, plus the log Jacobian of the map from the
    sampled coordinates, checked against a finite-difference Jacobian. (The other coordinates
    map to themselves, so the Jacobian's determinant is that of this block.)
    """
    from dataclasses import replace

    from scipy.stats import norm

    cfg = MMMConfig()
    panel = tiny_panel(n_geos=3, n_weeks=60, seed=2).national()
    rng = np.random.default_rng(0)
    panel = replace(panel, controls=rng.normal(size=(1, 60, 1)), control_names=("flu",))
    data = model_data(panel, cfg.adstock, cfg.priors, cfg.n_fourier)
    model = build_model(data, cfg.adstock, cfg.saturation, cfg.priors, panel.channels)
    mapped = {"trend_raw": "trend", "gamma_raw": "gamma", "holiday_raw": "holiday"}
    mapped |= {"delta_raw": "delta", "a0_offset": "a0"}

    def compile_at_values(names):
        outs = model.replace_rvs_by_values([model[n] for n in names])
        return model.compile_fn(outs, inputs=model.value_vars, on_unused_input="ignore")

    to_phi = compile_at_values(mapped.values())
    potentials = compile_at_values(
        ("amplitudes_jacobian", "a0_prior", "trend_prior", "gamma_prior")
    )
    for _ in range(3):
        point = {k: v + rng.normal(0.0, 0.3, np.shape(v)) for k, v in model.initial_point().items()}
        sizes = [np.size(point[n]) for n in mapped]
        z = np.concatenate([np.ravel(point[n]) for n in mapped])

        def phi(vec: np.ndarray, point=point, sizes=sizes) -> np.ndarray:
            parts = np.split(vec, np.cumsum(sizes)[:-1])
            moved = {n: p.reshape(np.shape(point[n])) for n, p in zip(mapped, parts, strict=True)}
            return np.concatenate([np.ravel(v) for v in to_phi(point | moved)])

        h = 1e-6
        jac = np.column_stack([(phi(z + h * e) - phi(z - h * e)) / (2 * h) for e in np.eye(z.size)])
        _, log_det = np.linalg.slogdet(jac)
        jacobian, a0_prior, trend_prior, gamma_prior = potentials(point)
        np.testing.assert_allclose(jacobian, log_det, atol=1e-5)
        values = dict(zip(mapped.values(), to_phi(point), strict=True))
        assert a0_prior == pytest.approx(norm.logpdf(values["a0"], data.log_rate_centre, 1.0))
        assert trend_prior == pytest.approx(norm.logpdf(values["trend"], 0.0, cfg.priors.trend_sd))
        expected = norm.logpdf(values["gamma"], 0.0, cfg.priors.season_sd).sum()
        assert gamma_prior == pytest.approx(expected)
