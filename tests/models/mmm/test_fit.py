"""A small-world fit end to end: short chains, few markets (slow: two nutpie compilations)."""

import numpy as np
import pytest

from models.mmm import MMMConfig, fit_mmm
from models.mmm import fit as fit_module
from simulator import WorldConfig, simulate_world


@pytest.fixture(scope="module")
def small_fit():
    world = simulate_world(WorldConfig(seed=7, n_geos=8, n_weeks=104))
    config = MMMConfig(
        draws=200,
        tune=250,
        holdout_weeks=13,
        holdout_draws=60,
        holdout_tune=150,  # fewer tuning steps sample slower: 60 took 4x as long
        response_draws=40,
        retries=0,
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
def test_fit_is_reproducible_with_a_seed(monkeypatch) -> None:
    """Two fits with one seed give the same draws and the same PAC table. The second fit samples
    the model the first one compiled: the seeding is under test, and a compile takes a minute."""
    compile_model, compiled = fit_module.compile_model, []

    def compile_once(model):
        if not compiled:
            compiled.append(compile_model(model))
        return compiled[0]

    monkeypatch.setattr(fit_module, "compile_model", compile_once)
    world = simulate_world(WorldConfig(seed=7, n_geos=6, n_weeks=80))
    cfg = MMMConfig(draws=30, tune=30, holdout_weeks=0, response_draws=10, retries=0)
    a = fit_mmm(world.panel.national(), cfg)
    b = fit_mmm(world.panel.national(), cfg)
    np.testing.assert_array_equal(a.idata.posterior["roi"].values, b.idata.posterior["roi"].values)
    assert a.channel_summary.equals(b.channel_summary)


def test_a_missed_gate_is_sampled_again_with_longer_chains(monkeypatch) -> None:
    """R-hat missed, then divergences, then converged: each retry doubles tuning, doubles the
    draws only after a mixing miss, raises target acceptance only after divergences."""
    runs = []
    results = iter([(1.05, 900.0, 900.0, 0), (1.005, 900.0, 900.0, 3), (1.004, 900.0, 900.0, 0)])
    monkeypatch.setattr(
        fit_module, "run_sampler", lambda c, cfg, d, t, seed: runs.append((d, t, seed, cfg)) or seed
    )
    monkeypatch.setattr(fit_module, "sampler_diagnostics", lambda idata: next(results))
    notes: list[str] = []
    cfg = MMMConfig(draws=100, tune=100, target_accept=0.9, retries=3)
    idata, final, diagnostics = fit_module.sample_until_converged(None, cfg, notes)
    assert [(d, t) for d, t, _, _ in runs] == [(100, 100), (200, 200), (200, 400)]
    assert [c.target_accept for *_, c in runs] == [0.9, 0.9, fit_module.RETRY_TARGET_ACCEPT]
    assert len({seed for _, _, seed, _ in runs}) == 3 and idata == runs[-1][2]
    assert final.draws == 200 and final.tune == 400 and len(notes) == 2
    assert (diagnostics.max_rhat, diagnostics.converged, diagnostics.n_draws) == (1.004, True, 800)
    assert "R-hat" in notes[0] and "divergent" in notes[1]


def test_no_retry_when_retries_is_zero(monkeypatch) -> None:
    runs = []
    monkeypatch.setattr(fit_module, "run_sampler", lambda *a: runs.append(a) or "idata")
    monkeypatch.setattr(fit_module, "sampler_diagnostics", lambda idata: (2.0, 10.0, 10.0, 5))
    notes: list[str] = []
    fit_module.sample_until_converged(None, MMMConfig(retries=0), notes)
    assert len(runs) == 1 and notes == []
