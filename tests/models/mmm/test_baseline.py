"""The baseline's sampling coordinates (models.mmm.baseline): the stated model, nothing else."""

from dataclasses import replace

import numpy as np
import pytest

from models.mmm.fit import MMMConfig
from models.mmm.model import build_model, model_data


@pytest.mark.parametrize("national", [True, False], ids=["national", "markets"])
def test_sampled_coordinates_give_the_stated_model(tiny_panel, national: bool) -> None:
    """A fit samples the baseline in other coordinates; the posterior must not change.

    At random points of the sampled coordinates, the fitted model's log density must equal the
    stated model's (priors as plain random variables) at the mapped point, plus the log
    Jacobian of the map, taken by finite differences. (The other coordinates map to
    themselves, so the Jacobian's determinant is that of the baseline block.)
    """
    cfg = MMMConfig()
    panel = tiny_panel(n_geos=3, n_weeks=60, seed=2)
    panel = panel.national() if national else panel
    rng = np.random.default_rng(0)
    controls = rng.normal(size=(panel.n_geos, 60, 1))
    panel = replace(panel, controls=controls, control_names=("flu",))
    data = model_data(panel, cfg.adstock, cfg.priors, cfg.n_fourier)
    args = (data, cfg.adstock, cfg.saturation, cfg.priors, panel.channels)
    sampled, stated = build_model(*args), build_model(*args, prior_predictive=True)
    mapped = {"trend_raw": "trend", "gamma_raw": "gamma", "holiday_raw": "holiday"}
    mapped |= {"delta_raw": "delta", "z_level_raw": "z_level"}
    mapped |= {"a0_offset": "a0"} if national else {"a_geo_offset": "a_geo"}

    outs = sampled.replace_rvs_by_values([sampled[n] for n in mapped.values()])
    to_stated = sampled.compile_fn(outs, inputs=sampled.value_vars, on_unused_input="ignore")
    sampled_logp, stated_logp = sampled.compile_logp(), stated.compile_logp()
    stated_names = {v.name for v in stated.value_vars}
    for _ in range(3):
        point = {
            k: v + rng.normal(0.0, 0.3, np.shape(v)) for k, v in sampled.initial_point().items()
        }
        sizes = [np.size(point[n]) for n in mapped]
        z = np.concatenate([np.ravel(point[n]) for n in mapped])

        def phi(vec: np.ndarray, point=point, sizes=sizes) -> np.ndarray:
            parts = np.split(vec, np.cumsum(sizes)[:-1])
            moved = {n: p.reshape(np.shape(point[n])) for n, p in zip(mapped, parts, strict=True)}
            return np.concatenate([np.ravel(v) for v in to_stated(point | moved)])

        h = 1e-6
        jac = np.column_stack([(phi(z + h * e) - phi(z - h * e)) / (2 * h) for e in np.eye(z.size)])
        _, log_det = np.linalg.slogdet(jac)
        values = dict(zip(mapped.values(), to_stated(point), strict=True))
        same = {k: v for k, v in point.items() if k in stated_names}
        stated_point = same | {k: np.asarray(v) for k, v in values.items()}
        assert set(stated_point) == stated_names
        assert sampled_logp(point) == pytest.approx(stated_logp(stated_point) + log_det, abs=1e-6)


def test_stated_national_model_has_no_market_spread(tiny_panel) -> None:
    cfg = MMMConfig()
    panel = tiny_panel(n_geos=3, n_weeks=60, seed=2).national()
    data = model_data(panel, cfg.adstock, cfg.priors, cfg.n_fourier)
    stated = build_model(
        data, cfg.adstock, cfg.saturation, cfg.priors, panel.channels, prior_predictive=True
    )
    assert "sigma_a" not in stated.named_vars and "a_geo" in stated.named_vars
