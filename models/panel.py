"""The weekly market panel every model reads.

Shapes follow google/meridian: market first, then time, then channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np


@dataclass(frozen=True)
class Panel:
    """Weekly spend and new patients per market.

    Attributes:
        weeks: (n_weeks,) ``datetime64[D]``, consecutive Mondays.
        geos: (n_geos,) market codes.
        channels: (n_channels,) paid channel slugs, sorted.
        population: (n_geos,) people per market.
        spend: (n_geos, n_weeks, n_channels) USD per week.
        new_patients: (n_geos, n_weeks) new patients per week (the KPI), whole numbers.
        controls: (n_geos, n_weeks, n_controls) control variables (n_controls may be 0).
        control_names: (n_controls,) names of the control variables.
        observed: (n_geos, n_weeks) bool, True where new patients were measured: every KPI
            feed (calls, bookings) covered that market and week and the spend feed covered the
            week. Where False the cell was not measured (a market whose call tracking started
            late, a feed that ends early): ``new_patients`` there is a placeholder 0 and
            ``spend`` a placeholder 0, neither an observation; models must skip such cells.
            Default: every cell observed.
    """

    weeks: np.ndarray
    geos: tuple[str, ...]
    channels: tuple[str, ...]
    population: np.ndarray
    spend: np.ndarray
    new_patients: np.ndarray
    controls: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    control_names: tuple[str, ...] = ()
    observed: np.ndarray | None = None

    def __post_init__(self) -> None:
        n_g, n_w, n_c = len(self.geos), len(self.weeks), len(self.channels)
        if self.spend.shape != (n_g, n_w, n_c):
            raise ValueError(f"spend has shape {self.spend.shape}, expected {(n_g, n_w, n_c)}")
        if self.new_patients.shape != (n_g, n_w):
            raise ValueError(
                f"new_patients has shape {self.new_patients.shape}, expected {(n_g, n_w)}"
            )
        if self.population.shape != (n_g,):
            raise ValueError(f"population has shape {self.population.shape}, expected {(n_g,)}")
        if self.controls.size == 0 and not self.control_names:
            object.__setattr__(self, "controls", np.zeros((n_g, n_w, 0)))
        elif self.controls.shape != (n_g, n_w, len(self.control_names)):
            raise ValueError("controls shape does not match (n_geos, n_weeks, n_controls)")
        if self.observed is None:
            object.__setattr__(self, "observed", np.ones((n_g, n_w), dtype=bool))
        else:
            observed = np.asarray(self.observed)
            if observed.shape != (n_g, n_w) or observed.dtype != bool:
                raise ValueError(f"observed must be a bool array of shape {(n_g, n_w)}")
            object.__setattr__(self, "observed", observed)

    @property
    def n_geos(self) -> int:
        return len(self.geos)

    @property
    def n_weeks(self) -> int:
        return len(self.weeks)

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    def national(self) -> Panel:
        """The panel with all markets summed into one market called ``national``.

        Controls are population-weighted averages. A national week is observed only when every
        market was observed that week (a sum over partly measured markets is not the national
        count); its new patients are still the sum, a placeholder where not observed.
        """
        w = self.population / self.population.sum()
        return replace(
            self,
            geos=("national",),
            population=np.array([self.population.sum()]),
            spend=self.spend.sum(axis=0, keepdims=True),
            new_patients=self.new_patients.sum(axis=0, keepdims=True),
            controls=np.einsum("g,gwk->wk", w, self.controls)[None],
            observed=self.observed.all(axis=0, keepdims=True),
        )

    @property
    def fully_observed(self) -> bool:
        """True when every (market, week) cell was measured."""
        return bool(self.observed.all())

    def window(self, n_weeks: int) -> np.ndarray:
        """Boolean mask (n_weeks,) of the last ``n_weeks`` weeks: the reporting window."""
        mask = np.zeros(self.n_weeks, dtype=bool)
        mask[-min(n_weeks, self.n_weeks) :] = True
        return mask
