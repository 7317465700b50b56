"""The MMM's posterior response model, kept in the warehouse beside the fit it came from.

``mmm_fit`` writes the arrays of ``models.mmm.response.ResponseModel.to_arrays()`` into
``mmm.response_model`` (one row per array, as ``.npy`` bytes) in the same transaction as the
other ``mmm.*`` tables, so the budget plan always reads the response of the fit that the PAC
tables describe, through lineage rather than a side file.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import polars as pl

from pipelines.warehouse import table_exists

if TYPE_CHECKING:
    from models.mmm.response import ResponseModel

TABLE = "mmm.response_model"


def response_frame(arrays: dict[str, np.ndarray]) -> pl.DataFrame:
    """Rows of ``mmm.response_model``: ``name`` and ``npy`` (the array as ``.npy`` bytes, no pickle)."""
    blobs = []
    for value in arrays.values():
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(value), allow_pickle=False)
        blobs.append(buffer.getvalue())
    return pl.DataFrame(
        {"name": list(arrays), "npy": blobs}, schema={"name": pl.String, "npy": pl.Binary}
    )


def read_response_model(conn: duckdb.DuckDBPyConnection) -> ResponseModel:
    """The response model of the last converged fit.

    Raises:
        LookupError: no converged fit has stored one yet.
    """
    from models.mmm.response import ResponseModel

    rows = (
        conn.execute(f"SELECT name, npy FROM {TABLE}").fetchall()
        if table_exists(conn, TABLE)
        else []
    )
    if not rows:
        raise LookupError(f"{TABLE} is empty: materialise mmm_fit first")
    arrays = {name: np.load(io.BytesIO(blob), allow_pickle=False) for name, blob in rows}
    return ResponseModel.from_arrays(arrays)
