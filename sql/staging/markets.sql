-- Rebuild rows of staging.markets from _landing_raw: the text of every current file of the
-- feed (all VARCHAR, already accepted by the guard), with _file, _sha256 and _ord (file-name
-- order). Values are cast with TRY_CAST so no cast error can quote a row; a later file's row
-- replaces an earlier one with the same key (geo).
INSERT INTO staging.markets (geo, geo_type, population, label, _file, _sha256)
SELECT geo, geo_type, population, label, _file, _sha256
FROM (
    SELECT
        geo,
        geo_type,
        TRY_CAST(trim(population) AS BIGINT) AS population,
        label,
        _file,
        _sha256,
        _ord
    FROM _landing_raw
)
QUALIFY row_number() OVER (PARTITION BY geo ORDER BY _ord DESC) = 1;
