"""Posterior response of new patients to spend, for the budget optimiser (plain numpy)."""

from __future__ import annotations

import numpy as np

from models.mmm.transforms import (
    ADSTOCKS,
    SATURATIONS,
    Adstock,
    Params,
    Saturation,
    apply_weights,
    draw_params,
)


class ResponseModel:
    """Media-caused new patients in the reporting window as a function of channel spend.

    Holds a thinned set of posterior draws and the window's spend, so it can be saved with
    ``np.savez(path, **rm.to_arrays())`` and reopened with ``ResponseModel.from_arrays``.

    Attributes:
        channels: (n_channels,) channel slugs.
        window_spend: (n_channels,) USD spent in the window (all markets).
        max_weekly_spend: (n_channels,) highest national weekly spend seen in the history (USD);
            spend scales that push a channel's weekly spend above it extrapolate the curve.
        pop: (n_geos,) population.
        lagged_pre: (n_geos, n_window_weeks, n_channels, max_lag) normalised spend per capita
            lagged, with the window's own spend set to zero (carry-in from before the window).
        lagged_win: same, with only the window's spend (the part ``spend_scale`` multiplies).
        adstock, saturation: the fitted transforms (their settings; priors are not used here).
        adstock_params, saturation_params: {name: (n_draws, n_channels)} posterior draws.
        beta: (n_draws, n_geos, n_channels) new patients per person per week at saturation.
        saturation_geo: (n_draws, n_geos, n_channels) the market's multiplier of the spend per
            person at which the channel saturates (the curve reads adstocked spend divided by
            it); ones when not given (one curve shared by the markets).
    """

    def __init__(
        self,
        channels: tuple[str, ...],
        window_spend: np.ndarray,
        max_weekly_spend: np.ndarray,
        pop: np.ndarray,
        lagged_pre: np.ndarray,
        lagged_win: np.ndarray,
        adstock: Adstock,
        saturation: Saturation,
        adstock_params: Params,
        saturation_params: Params,
        beta: np.ndarray,
        saturation_geo: np.ndarray | None = None,
    ) -> None:
        self.channels = tuple(channels)
        self.window_spend = np.asarray(window_spend, dtype=float)
        self.max_weekly_spend = np.asarray(max_weekly_spend, dtype=float)
        self.pop = np.asarray(pop, dtype=float)
        self.lagged_pre = np.asarray(lagged_pre, dtype=float)
        self.lagged_win = np.asarray(lagged_win, dtype=float)
        self.adstock = adstock
        self.saturation = saturation
        self.adstock_params = {k: np.asarray(v, dtype=float) for k, v in adstock_params.items()}
        self.saturation_params = {
            k: np.asarray(v, dtype=float) for k, v in saturation_params.items()
        }
        self.beta = np.asarray(beta, dtype=float)
        self.saturation_geo = (
            np.ones_like(self.beta)
            if saturation_geo is None
            else np.asarray(saturation_geo, dtype=float)
        )
        self._cache: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def n_draws(self) -> int:
        return self.beta.shape[0]

    def _adstocked(self) -> tuple[np.ndarray, np.ndarray]:
        """Adstocked carry-in and window spend, (n, G, W, C) each, in units of each market's
        curve (divided by ``saturation_geo``)."""
        if self._cache is None:
            wts = self.adstock.weights(self.adstock_params)  # (n, C, L)
            sat_geo = self.saturation_geo[:, :, None, :]  # (n, G, 1, C)
            self._cache = (
                apply_weights(self.lagged_pre, wts) / sat_geo,
                apply_weights(self.lagged_win, wts) / sat_geo,
            )
        return self._cache

    def new_patients(self, spend_scale: np.ndarray) -> np.ndarray:
        """Media-caused new patients in the window, per draw.

        Args:
            spend_scale: (n_channels,) multiplies each channel's window spend in every market
                and week (1 = as spent).

        Returns:
            (n_draws,) new patients summed over channels, markets and window weeks.
        """
        return self.new_patients_by_channel(spend_scale).sum(axis=1)

    def new_patients_by_channel(self, spend_scale: np.ndarray) -> np.ndarray:
        """As :meth:`new_patients`, per channel: (n_draws, n_channels)."""
        scale = np.asarray(spend_scale, dtype=float)
        if scale.shape != (len(self.channels),):
            raise ValueError(f"spend_scale must have shape ({len(self.channels)},)")
        pre, win = self._adstocked()
        x = pre + scale[None, None, None, :] * win
        h = self.saturation.apply(x, draw_params(self.saturation_params, 2))
        contrib = self.pop[None, :, None, None] * self.beta[:, :, None, :] * h
        return contrib.sum(axis=(1, 2))

    def extrapolates(
        self, spend_scale: np.ndarray, n_window_weeks: int | None = None
    ) -> np.ndarray:
        """(n_channels,) bool: the scaled mean weekly spend exceeds the highest weekly spend seen."""
        weeks = n_window_weeks or self.lagged_win.shape[1]
        weekly = self.window_spend * np.asarray(spend_scale, dtype=float) / weeks
        return weekly > self.max_weekly_spend

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays for ``np.savez`` (transform kinds and the lag length included)."""
        return {
            "channels": np.array(self.channels, dtype=str),
            "window_spend": self.window_spend,
            "max_weekly_spend": self.max_weekly_spend,
            "pop": self.pop,
            "lagged_pre": self.lagged_pre,
            "lagged_win": self.lagged_win,
            "adstock_kind": np.array(self.adstock.kind),
            "saturation_kind": np.array(self.saturation.kind),
            "max_lag": np.array(self.adstock.max_lag),
            **{f"adstock__{k}": v for k, v in self.adstock_params.items()},
            **{f"saturation__{k}": v for k, v in self.saturation_params.items()},
            "beta": self.beta,
            "saturation_geo": self.saturation_geo,
        }

    @classmethod
    def from_arrays(cls, d) -> ResponseModel:
        """Inverse of :meth:`to_arrays` (accepts the mapping ``np.load`` returns)."""
        adstock = ADSTOCKS[str(d["adstock_kind"])](max_lag=int(d["max_lag"]))
        saturation = SATURATIONS[str(d["saturation_kind"])]()
        return cls(
            channels=tuple(str(c) for c in d["channels"]),
            adstock=adstock,
            saturation=saturation,
            adstock_params={k: np.asarray(d[f"adstock__{k}"]) for k in adstock.param_names},
            saturation_params={
                k: np.asarray(d[f"saturation__{k}"]) for k in saturation.param_names
            },
            **{
                k: np.asarray(d[k])
                for k in (
                    "window_spend",
                    "max_weekly_spend",
                    "pop",
                    "lagged_pre",
                    "lagged_win",
                    "beta",
                )
            },
            saturation_geo=np.asarray(d["saturation_geo"]) if "saturation_geo" in d else None,
        )
