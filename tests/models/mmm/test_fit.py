"""A small-world fit end to end: short chains, few markets (slow: two nutpie compilations)."""

import numpy as np
import pytest

from models.mmm import MMMConfig, fit_mmm
from simulator import WorldConfig, simulate_world


@pytest.fixture(scope="module")
def small_fit():
    world = simulate_world(WorldConfig(seed=7, n_geos=8, n_weeks=104))
    config = MMMConfig(
        draws=200,
        tune=250,
        holdout_weeks=13,
        holdout_draws=60,
        holdout_tune=60,
        response_draws=40,
    )
    return world, fit_mmm(world.panel, config)


@pytest.mark.slow
def test_small_world_recovers_sign_and_order(small_fit) -> None:
    world, fit = small_fit
    s = fit.channel_summary
    assert (s["incremental_new_patients_lo"] > 0).all()
    assert ((s["pac_lo"] <= s["pac"]) & (s["pac"] <= s["pac_hi"])).all()
    est = dict(zip(s["channel"], s["pac"], strict=True))
    true = {c: v["pac"] for c, v in world.truth["channels"].items()}
    cheapest = min(true, key=true.get)
    dearest = max(true, key=true.get)
    assert est[cheapest] < est[dearest]
    order_true = np.argsort(np.argsort([true[c] for c in fit.channels]))
    order_est = np.argsort(np.argsort([est[c] for c in fit.channels]))
    assert np.corrcoef(order_true, order_est)[0, 1] > 0.3


@pytest.mark.slow
def test_small_world_result_tables(small_fit, tmp_path) -> None:
    import arviz as az

    world, fit = small_fit
    fit.idata.to_netcdf(str(tmp_path / "posterior.nc"))
    assert "roi" in az.from_netcdf(str(tmp_path / "posterior.nc")).posterior
    comps = set(fit.contributions["component"].unique())
    assert comps == {*fit.channels, "baseline"}
    fva = fit.fit_vs_actual
    assert fva.height == world.panel.n_weeks and int(fva["holdout"].sum()) == 13
    assert 0 < fit.diagnostics.holdout_mape < 0.5
    assert 0.5 < fit.diagnostics.ppc_coverage_90 <= 1.0
    for ch in fit.channels:
        curve = fit.response_curves.filter(fit.response_curves["channel"] == ch)
        assert np.all(np.diff(curve["new_patients"].to_numpy()) >= -1e-9)
        assert curve["current"].sum() == 1
    rm = fit.response
    assert rm.new_patients(np.ones(len(fit.channels))).shape == (40,)
    # the response model reproduces the window's incremental new patients
    total = fit.channel_summary["incremental_new_patients"].sum()
    med = np.median(rm.new_patients(np.ones(len(fit.channels))))
    assert med == pytest.approx(total, rel=0.25)


@pytest.mark.slow
def test_fit_is_reproducible_with_a_seed() -> None:
    world = simulate_world(WorldConfig(seed=7, n_geos=6, n_weeks=80))
    cfg = MMMConfig(draws=30, tune=30, holdout_weeks=0, response_draws=10)
    a = fit_mmm(world.panel.national(), cfg)
    b = fit_mmm(world.panel.national(), cfg)
    np.testing.assert_array_equal(a.idata.posterior["roi"].values, b.idata.posterior["roi"].values)
