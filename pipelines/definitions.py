"""The Dagster code location of clearcount, loaded from the ``defs/`` folder.

The layout is the one ``dg scaffold`` makes (``[tool.dg]`` in ``pyproject.toml``): one folder
per domain under ``pipelines/defs/`` (ingest, geo, mmm, marts, experiment_design, dashboards),
``defs/resources.py`` with the shared resources and ``defs/automation.py`` with every job,
schedule and sensor. ``dagster dev`` (``[tool.dagster]``) and ``dg`` both load ``defs`` below;
it is built at import (not lazily with ``@dg.definitions``) so that ``clearcount refresh``,
notebooks and tests can use it as a ``Definitions`` object.
"""

from pathlib import Path

import dagster as dg

defs = dg.load_from_defs_folder(path_within_project=Path(__file__).parent)
