"""The Dagster code location of clearcount: every domain's definitions plus the warehouse.

Domains live in ``pipelines/defs/<domain>/`` (ingest, geo, mmm, marts, dashboards); each exposes
``defs``. The ``duckdb`` resource is the warehouse of ``CLEARCOUNT_WAREHOUSE``. Only one
``Definitions`` object may sit at module scope (Dagster's loader insists), so the domains are
imported as modules.
"""

import dagster as dg

from pipelines.defs import dashboards, geo, ingest, marts, mmm
from pipelines.resources import warehouse_resource

DOMAINS = (ingest, geo, mmm, marts, dashboards)

defs = dg.Definitions.merge(
    *(domain.defs for domain in DOMAINS),
    dg.Definitions(resources={"duckdb": warehouse_resource()}),
)
