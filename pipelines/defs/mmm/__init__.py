"""MMM domain: the ``mmm_fit`` asset and its blocking ``mmm_converged`` check."""

import dagster as dg

from pipelines.defs.mmm.assets import mmm_fit

defs = dg.Definitions(assets=[mmm_fit])
