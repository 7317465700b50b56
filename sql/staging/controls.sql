-- Rebuild rows of staging.controls from _landing_raw: the text of every current file of the
-- feed (all VARCHAR, already accepted by the guard), with _file, _sha256 and _ord (file-name
-- order). Values are cast with TRY_CAST so no cast error can quote a row; a later file's row
-- replaces an earlier one with the same key (week_start, geo, name).
INSERT INTO staging.controls (week_start, geo, name, value, _file, _sha256)
SELECT week_start, geo, name, value, _file, _sha256
FROM (
    SELECT
        TRY_CAST(trim(week_start) AS DATE) AS week_start,
        geo,
        name,
        TRY_CAST(trim(value) AS DOUBLE) AS value,
        _file,
        _sha256,
        _ord
    FROM _landing_raw
)
QUALIFY row_number() OVER (PARTITION BY week_start, geo, name ORDER BY _ord DESC) = 1;
