-- Rebuild rows of staging.experiments from _landing_raw: the text of every current file of the
-- feed (all VARCHAR, already accepted by the guard), with _file, _sha256 and _ord (file-name
-- order). Values are cast with TRY_CAST so no cast error can quote a row; a later file's row
-- replaces an earlier one with the same key (test_id, geo).
INSERT INTO staging.experiments (test_id, channel, geo, role, start_week, end_week, design, _file, _sha256)
SELECT test_id, channel, geo, role, start_week, end_week, design, _file, _sha256
FROM (
    SELECT
        test_id,
        channel,
        geo,
        role,
        TRY_CAST(trim(start_week) AS DATE) AS start_week,
        TRY_CAST(trim(end_week) AS DATE) AS end_week,
        design,
        _file,
        _sha256,
        _ord
    FROM _landing_raw
)
QUALIFY row_number() OVER (PARTITION BY test_id, geo ORDER BY _ord DESC) = 1;
