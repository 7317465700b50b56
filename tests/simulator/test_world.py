"""The simulated world: deterministic, with the transforms and calendars it promises."""

from __future__ import annotations

import json
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from simulator import WorldConfig, simulate_world, write_world
from simulator.world import MORE_CHANNELS

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
SMALL = {"n_geos": 8, "n_weeks": 90}


def test_same_seed_same_world() -> None:
    cfg = WorldConfig(seed=11, n_geos=8, n_weeks=90)
    a, b = simulate_world(cfg), simulate_world(cfg)
    np.testing.assert_array_equal(a.panel.new_patients, b.panel.new_patients)
    assert a.truth == b.truth
    assert not np.array_equal(
        a.panel.new_patients,
        simulate_world(WorldConfig(seed=12, n_geos=8, n_weeks=90)).panel.new_patients,
    )


def test_hard_world_flights_move_together() -> None:
    hard = simulate_world(WorldConfig(seed=5, n_geos=8, n_weeks=90, correlated_flighting=True))
    social = hard.panel.spend[:, 10:, hard.panel.channels.index("social")] > 0
    assert (social == social[0]).mean() > 0.95  # same calendar in every market
    assert hard.panel.spend[:, :, hard.panel.channels.index("ctv")][:, :60].sum() == 0


def _same_up_to_last_bits(a, b) -> bool:
    """JSON values equal, numbers to a relative 1e-9 (BLAS kernels differ between CPUs)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same_up_to_last_bits(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(map(_same_up_to_last_bits, a, b))
    if isinstance(a, float | int) and isinstance(b, float | int):
        return bool(np.isclose(a, b, rtol=1e-9, atol=0.0))
    return a == b


def test_default_world_is_the_committed_sample(tmp_path) -> None:
    """The modes leave the default world as it was: the sample is regenerated (if the simulator
    is changed on purpose, rewrite data/sample with clearcount simulate). Floating point may
    differ in the last bits between CPUs, so a count drawn from it may come out a little
    different: counts may differ by up to 5 in at most 0.1% of rows, the truth's numbers to a
    relative 1e-9, the rest byte for byte."""
    import polars as pl

    write_world(simulate_world(WorldConfig()), tmp_path)
    made = sorted(str(f.relative_to(tmp_path)) for f in tmp_path.rglob("*") if f.is_file())
    assert made == sorted(str(f.relative_to(SAMPLE)) for f in SAMPLE.rglob("*") if f.is_file())
    for name in made:
        new, old = tmp_path / name, SAMPLE / name
        if name.endswith(".json"):
            assert _same_up_to_last_bits(json.loads(new.read_text()), json.loads(old.read_text()))
        elif name.startswith(("calls/", "bookings/")):
            a, b = pl.read_csv(new), pl.read_csv(old)
            assert a.columns == b.columns and a.height == b.height
            counts = [c for c in a.columns if a[c].dtype.is_integer() and c != "geo"]
            assert a.drop(counts).equals(b.drop(counts)), name
            diff = np.abs(a.select(counts).to_numpy() - b.select(counts).to_numpy())
            assert diff.max() <= 5 and (diff.any(axis=1)).mean() <= 1e-3, name
        else:
            assert new.read_bytes() == old.read_bytes(), name


def test_mode_fields_at_their_defaults_change_nothing() -> None:
    cfg = WorldConfig(seed=4, **SMALL)
    modes = [f for f in fields(WorldConfig) if f.metadata.get("mode")]
    assert len(modes) >= 15
    explicit = replace(cfg, **{f.name: f.default for f in modes})
    a, b = simulate_world(cfg), simulate_world(explicit)
    np.testing.assert_array_equal(a.panel.new_patients, b.panel.new_patients)
    assert a.truth == b.truth
    assert not set(a.truth["config"]) & {f.name for f in modes}  # unset modes are not written
    assert (a.oracle.adstock, a.oracle.saturation, a.oracle.max_lag) == ("geometric", "hill", 8)
    assert a.oracle.holiday_country == "US" and a.oracle.control_names == ()


def _share_caused_by_media(world) -> float:
    inc = sum(v["incremental_new_patients"] for v in world.truth["channels"].values())
    return inc / world.panel.new_patients[:, -world.config.window_weeks :].sum()


@pytest.mark.parametrize("share", [0.05, 0.5])
def test_media_share_is_what_was_asked(share) -> None:
    world = simulate_world(WorldConfig(seed=4, media_share=share, **SMALL))
    assert _share_caused_by_media(world) == pytest.approx(share, rel=0.05)
    assert world.truth["config"]["media_share"] == share


@pytest.mark.parametrize("multiple", [0.3, 3.0])
def test_half_saturation_is_a_multiple_of_current_spend(multiple) -> None:
    world = simulate_world(WorldConfig(seed=4, half_saturation=multiple, **SMALL))
    p = world.panel
    for ch, t in world.truth["channels"].items():
        x = p.spend[:, :, p.channels.index(ch)] / p.population[:, None]
        active_mean = x[x > 0].mean()  # reported weeks only: close to the burn-in-included mean
        assert t["hill_half_saturation"] == pytest.approx(multiple * active_mean, rel=0.15)


def test_other_curve_families_are_in_truth_and_oracle() -> None:
    world = simulate_world(WorldConfig(seed=4, adstock="weibull", saturation="logistic", **SMALL))
    assert (world.oracle.adstock, world.oracle.saturation, world.oracle.max_lag) == (
        "weibull",
        "logistic",
        10,
    )
    for t in world.truth["channels"].values():
        assert 1 <= t["adstock_peak_lag"] <= 3 and t["adstock_weibull_shape"] > 1
        assert t["logistic_lam"] == pytest.approx(np.log(3) / t["half_saturation"])
        assert "adstock_decay" not in t and "hill_slope" not in t


def test_level_shift_moves_the_baseline_only_and_the_oracle_knows_it() -> None:
    base = simulate_world(WorldConfig(seed=4, **SMALL))
    shifted = simulate_world(WorldConfig(seed=4, level_shift=0.3, level_shift_week=45, **SMALL))
    np.testing.assert_array_equal(base.panel.spend, shifted.panel.spend)
    assert shifted.oracle.control_names == ("level_shift",)
    step = shifted.oracle.controls[:, :, 0]
    assert (step[:, :45] == 0).all() and (step[:, 45:] == 1).all()
    before = shifted.panel.new_patients[:, :45].sum() / base.panel.new_patients[:, :45].sum()
    after = shifted.panel.new_patients[:, 45:].sum() / base.panel.new_patients[:, 45:].sum()
    assert before == pytest.approx(1, abs=0.03) and after > 1.15  # baseline x1.35, media not
    assert shifted.oracle_panel().control_names == ("flu_activity", "level_shift")
    assert {r for r in shifted.files["controls"][0][1]["name"]} == {"flu_activity"}


def test_hidden_driver_is_withheld_from_the_feeds_but_given_to_the_oracle() -> None:
    world = simulate_world(WorldConfig(seed=4, hidden_driver=0.2, **SMALL))
    assert world.oracle.control_names == ("demand_driver",)
    assert set(world.files["controls"][0][1]["name"]) == {"flu_activity"}
    driver = world.oracle.controls[:, :, 0]
    search = world.panel.spend[:, :, world.panel.channels.index("search")]
    on = search > 0  # not in the holdout's weeks
    within = [np.corrcoef(driver[g, on[g]], np.log(search[g, on[g]]))[0, 1] for g in range(8)]
    assert np.median(within) > 0.5  # search budgets follow demand: a confounder


def test_ten_channels_over_all_dma_sized_markets() -> None:
    world = simulate_world(
        WorldConfig(seed=4, n_geos=210, n_weeks=80, n_channels=10, geo_type="dma")
    )
    assert set(world.panel.channels) >= {ch.name for ch in MORE_CHANNELS}
    assert len(world.panel.channels) == 10
    assert all(500 <= int(g) <= 899 for g in world.panel.geos)
    assert world.panel.population.min() > 20_000
    assert sum(world.config.channels[i].budget_share for i in range(10)) == pytest.approx(1)
    markets = world.files["markets"][0][1]
    assert set(markets["geo_type"]) == {"dma"}


def test_another_countrys_holidays_dip_other_weeks() -> None:
    base = simulate_world(WorldConfig(seed=4, **SMALL))
    english = simulate_world(WorldConfig(seed=4, holiday_country="GB-ENG", **SMALL))
    np.testing.assert_array_equal(base.panel.spend, english.panel.spend)
    assert english.oracle.holiday_country == "GB-ENG"
    weeks = base.panel.weeks.astype(str).tolist()
    thanksgiving, easter_monday = weeks.index("2024-11-25"), weeks.index("2024-04-01")
    ratio = english.panel.new_patients.sum(axis=0) / base.panel.new_patients.sum(axis=0)
    assert ratio[thanksgiving] > 1.1 and ratio[easter_monday] < 0.9
