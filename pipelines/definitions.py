"""The Dagster code location of clearcount: every domain's definitions plus the warehouse.

Domains live in ``pipelines/defs/<domain>/`` (ingest, geo, mmm, marts, dashboards); each exposes
``defs``. The ``duckdb`` resource is the warehouse of ``CLEARCOUNT_WAREHOUSE``.
"""

import dagster as dg

from pipelines.defs.dashboards import defs as dashboards_defs
from pipelines.defs.geo import defs as geo_defs
from pipelines.defs.ingest import defs as ingest_defs
from pipelines.defs.marts import defs as marts_defs
from pipelines.defs.mmm import defs as mmm_defs
from pipelines.resources import warehouse_resource

defs = dg.Definitions.merge(
    ingest_defs,
    geo_defs,
    mmm_defs,
    marts_defs,
    dashboards_defs,
    dg.Definitions(resources={"duckdb": warehouse_resource()}),
)
