"""Convergence and fit diagnostics that gate publishing."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Parameters checked for convergence: the model's stated parameters (a fit samples some of
#: them in other coordinates, models.mmm.baseline; the remaining deterministics follow).
CHECKED_VARS = (
    "roi_level",
    "roi",
    "decay",
    "lag_shape",
    "lag_scale",
    "half_saturation",
    "slope",
    "lam",
    "z_beta",
    "a0",
    "sigma_a",
    "a_geo",
    "trend",
    "gamma",
    "sigma_level",
    "z_level",
    "holiday",
    "delta",
    "inv_sqrt_alpha",
)

MAX_RHAT = 1.01
MIN_ESS = 400.0


@dataclass(frozen=True)
class Diagnostics:
    """Sampler and fit diagnostics.

    Attributes:
        max_rhat: largest split R-hat over all free parameters.
        min_ess_bulk, min_ess_tail: smallest effective sample sizes.
        divergences: divergent transitions after tuning.
        n_draws: posterior draws (all chains).
        ppc_coverage_90: share of market-weeks whose observed new patients fall inside the 90%
            posterior predictive interval (about 0.9 when the model is calibrated).
        holdout_mape: mean absolute percentage error of national weekly new patients on the last
            ``holdout_weeks`` weeks predicted by a fit that did not see them (NaN if not run).
        holdout_weeks: weeks held out.
    """

    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    divergences: int
    n_draws: int
    ppc_coverage_90: float = float("nan")
    holdout_mape: float = float("nan")
    holdout_weeks: int = 0

    @property
    def converged(self) -> bool:
        """True when R-hat <= 1.01, both ESS >= 400 and there is no divergence."""
        return (
            bool(np.isfinite(self.max_rhat))
            and self.max_rhat <= MAX_RHAT
            and self.min_ess_bulk >= MIN_ESS
            and self.min_ess_tail >= MIN_ESS
            and self.divergences == 0
        )

    def problems(self) -> list[str]:
        """Plain-words reasons the fit is not trusted (empty when converged)."""
        out: list[str] = []
        if not np.isfinite(self.max_rhat) or self.max_rhat > MAX_RHAT:
            out.append(
                f"the chains disagree (largest R-hat {self.max_rhat:.3f}, must be at most "
                f"{MAX_RHAT})"
            )
        if self.min_ess_bulk < MIN_ESS or self.min_ess_tail < MIN_ESS:
            out.append(
                f"too few independent draws (smallest effective sample size: bulk "
                f"{self.min_ess_bulk:.0f}, tail {self.min_ess_tail:.0f}; need {MIN_ESS:.0f})"
            )
        if self.divergences:
            out.append(
                f"the sampler hit {self.divergences} divergent transitions (must be 0), so "
                "parts of the posterior may be missed"
            )
        return out

    def message(self) -> str:
        """One plain-words sentence for the run log and the asset check."""
        if self.converged:
            return (
                f"The model converged: largest R-hat {self.max_rhat:.3f}, smallest effective "
                f"sample size {min(self.min_ess_bulk, self.min_ess_tail):.0f}, no divergences."
            )
        return (
            "The model did not converge, so its PAC is not published: "
            + "; ".join(self.problems())
            + ". Try more draws/tuning or check the input data."
        )

    def rows(self) -> list[tuple[str, float, float | None, bool | None]]:
        """(metric, value, threshold, passed) rows for ``mmm.diagnostics``."""
        return [
            ("max_rhat", self.max_rhat, MAX_RHAT, self.max_rhat <= MAX_RHAT),
            ("min_ess_bulk", self.min_ess_bulk, MIN_ESS, self.min_ess_bulk >= MIN_ESS),
            ("min_ess_tail", self.min_ess_tail, MIN_ESS, self.min_ess_tail >= MIN_ESS),
            ("divergences", float(self.divergences), 0.0, self.divergences == 0),
            ("n_draws", float(self.n_draws), None, None),
            ("ppc_coverage_90", self.ppc_coverage_90, 0.9, None),
            ("holdout_mape", self.holdout_mape, None, None),
            ("holdout_weeks", float(self.holdout_weeks), None, None),
        ]


def sampler_diagnostics(idata) -> tuple[float, float, float, int]:
    """(max R-hat, min bulk ESS, min tail ESS, divergences) over the free parameters."""
    import arviz as az

    names = [v for v in CHECKED_VARS if v in idata.posterior]
    n_chains = idata.posterior.sizes["chain"]
    if n_chains < 2 or idata.posterior.sizes["draw"] < 4:
        rhat = float("inf")
    else:
        r = az.rhat(idata, var_names=names)
        rhat = float(max(np.nanmax(r[v].values) for v in names))
        if not np.isfinite(rhat):
            rhat = float("inf")
    if idata.posterior.sizes["draw"] < 4:
        bulk = tail = 0.0
    else:
        eb = az.ess(idata, var_names=names, method="bulk")
        et = az.ess(idata, var_names=names, method="tail")
        bulk = float(min(np.nanmin(eb[v].values) for v in names))
        tail = float(min(np.nanmin(et[v].values) for v in names))
    div = 0
    if "sample_stats" in idata and "diverging" in idata.sample_stats:
        div = int(idata.sample_stats["diverging"].values.sum())
    return rhat, bulk, tail, div
