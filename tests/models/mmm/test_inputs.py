"""Checks and treatments of the panel before a fit: clear errors, logged notes, no values."""

from dataclasses import replace

import pytest

from models.mmm.inputs import MMMInputError, prepare_panel


def test_too_few_weeks_is_a_clear_error(tiny_panel) -> None:
    with pytest.raises(MMMInputError, match="at least 52 weeks"):
        prepare_panel(tiny_panel(n_weeks=40))


def test_channel_without_spend_is_dropped_and_noted(tiny_panel) -> None:
    p = tiny_panel()
    spend = p.spend.copy()
    spend[:, :, 1] = 0.0
    out, notes = prepare_panel(replace(p, spend=spend))
    assert out.channels == ("search",)
    assert any("Dropped 1 channel(s) with no spend" in n for n in notes)
    assert not any("tv" in n for n in notes)  # names come from landing files: counts only


def test_market_without_new_patients_is_dropped_and_noted(tiny_panel) -> None:
    p = tiny_panel()
    y = p.new_patients.copy()
    y[1] = 0.0
    out, notes = prepare_panel(replace(p, new_patients=y))
    assert out.geos == ("g0", "g2")
    assert any("Dropped 1 market(s) with no new patients" in n for n in notes)
    assert not any("g1" in n for n in notes)


def test_non_overlapping_spend_and_kpi_weeks_is_a_clear_error(tiny_panel) -> None:
    p = tiny_panel(n_weeks=100)
    spend, y = p.spend.copy(), p.new_patients.copy()
    spend[:, 50:] = 0.0  # spend stops before the KPI starts
    y[:, :60] = 0.0
    with pytest.raises(MMMInputError, match="overlap for 0 weeks"):
        prepare_panel(replace(p, spend=spend, new_patients=y))


def test_trailing_weeks_without_kpi_are_trimmed(tiny_panel) -> None:
    p = tiny_panel(n_weeks=70)
    y = p.new_patients.copy()
    y[:, -5:] = 0.0
    out, notes = prepare_panel(replace(p, new_patients=y))
    assert out.n_weeks == 65
    assert any("leading/trailing" in n for n in notes)


def test_error_messages_carry_no_values(tiny_panel) -> None:
    p = tiny_panel(n_weeks=40)
    with pytest.raises(MMMInputError) as exc:
        prepare_panel(p)
    assert str(int(p.new_patients.sum())) not in str(exc.value)
