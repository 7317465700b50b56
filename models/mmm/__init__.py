"""Bayesian media mix model: PAC per channel with honest uncertainty."""

from models.mmm.diagnostics import Diagnostics
from models.mmm.fit import MMMConfig, MMMFit, fit_mmm
from models.mmm.inputs import MMMInputError, prepare_panel
from models.mmm.response import ResponseModel

__all__ = [
    "Diagnostics",
    "MMMConfig",
    "MMMFit",
    "MMMInputError",
    "ResponseModel",
    "fit_mmm",
    "prepare_panel",
]
