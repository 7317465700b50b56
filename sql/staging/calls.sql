-- Rebuild rows of staging.calls from _landing_raw: the text of every current file of the
-- feed (all VARCHAR, already accepted by the guard), with _file, _sha256 and _ord (file-name
-- order). Values are cast with TRY_CAST so no cast error can quote a row; a later file's row
-- replaces an earlier one with the same key (week_start, geo, channel).
INSERT INTO staging.calls (week_start, geo, channel, calls, new_patient_calls, _file, _sha256)
SELECT week_start, geo, channel, calls, new_patient_calls, _file, _sha256
FROM (
    SELECT
        TRY_CAST(trim(week_start) AS DATE) AS week_start,
        geo,
        channel,
        TRY_CAST(trim(calls) AS BIGINT) AS calls,
        TRY_CAST(trim(new_patient_calls) AS BIGINT) AS new_patient_calls,
        _file,
        _sha256,
        _ord
    FROM _landing_raw
)
QUALIFY row_number() OVER (PARTITION BY week_start, geo, channel ORDER BY _ord DESC) = 1;
