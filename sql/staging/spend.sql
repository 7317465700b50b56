-- Rebuild rows of staging.spend from _landing_raw: the text of every current file of the
-- feed (all VARCHAR, already accepted by the guard), with _file, _sha256 and _ord (file-name
-- order). Values are cast with TRY_CAST so no cast error can quote a row; a later file's row
-- replaces an earlier one with the same key (week_start, geo, channel).
INSERT INTO staging.spend (week_start, geo, channel, spend, impressions, _file, _sha256)
SELECT week_start, geo, channel, spend, impressions, _file, _sha256
FROM (
    SELECT
        TRY_CAST(trim(week_start) AS DATE) AS week_start,
        geo,
        channel,
        TRY_CAST(trim(spend) AS DECIMAL(18, 2)) AS spend,
        TRY_CAST(trim(impressions) AS BIGINT) AS impressions,
        _file,
        _sha256,
        _ord
    FROM _landing_raw
)
QUALIFY row_number() OVER (PARTITION BY week_start, geo, channel ORDER BY _ord DESC) = 1;
