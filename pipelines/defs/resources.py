"""The resources every domain uses: ``settings`` (the ``CLEARCOUNT_*`` run settings) and
``duckdb`` (the warehouse), both fed by ``dg.EnvVar`` (see ``pipelines.resources``)."""

import dagster as dg

from pipelines.resources import settings_resource, warehouse_resource

defs = dg.Definitions(resources={"duckdb": warehouse_resource(), "settings": settings_resource()})
