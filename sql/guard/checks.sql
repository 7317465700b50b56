-- Whole-file checks of the privacy guard. guard_scan is the file read as text (columns c0, c1,
-- ...); guard_distinct(col, v, n) holds each column's distinct values and row counts. Sections
-- "-- name: <check>"; placeholders (__col__, __v__, ...) are column numbers or references filled
-- in by the guard. Each query returns counts, never a value.

-- name: duplicate_key
-- rows whose key appears more than once in the file (one row per event is the usual cause)
SELECT coalesce(sum(n), 0)
FROM (SELECT count(*) AS n FROM guard_scan GROUP BY __key__ HAVING count(*) > 1)

-- name: count_exceeds_total
SELECT count(*)
FROM guard_scan
WHERE TRY_CAST(__part__ AS BIGINT) > TRY_CAST(__total__ AS BIGINT)

-- name: unknown_geo
-- rows whose geo is not listed in the markets feed (guard_known_geos holds the markets' codes)
SELECT coalesce(sum(n), 0)
FROM guard_distinct
WHERE col = __col__ AND v IS NOT NULL AND v <> '' AND v NOT IN (SELECT geo FROM guard_known_geos)

-- name: markets
-- geo codes by geo_type, and the Safe Harbor ZIP3 rules: a restricted prefix
-- (guard_restricted_zip3, from pipelines.feeds.RESTRICTED_ZIP3), a prefix with 20,000 people or
-- fewer, or 000, is never a market.
WITH m AS (
    SELECT
        __geo__ AS geo,
        __geo_type__ AS geo_type,
        TRY_CAST(__population__ AS BIGINT) AS population
    FROM guard_scan
    WHERE __geo__ IS NOT NULL AND __geo__ <> ''
)
SELECT
    count(*) FILTER (
        WHERE (geo_type IN ('zip3', 'dma') AND NOT regexp_full_match(geo, '[0-9]{3}'))
        OR (geo_type = 'dma' AND NOT (geo BETWEEN '500' AND '899'))
        OR (geo_type = 'state' AND NOT regexp_full_match(geo, '[A-Z]{2}'))
        OR (geo_type = 'custom' AND NOT regexp_full_match(geo, '__slug_pattern__'))
    ) AS bad_type,
    count(*) FILTER (
        WHERE geo_type = 'zip3' AND geo IN (SELECT zip3 FROM guard_restricted_zip3)
    ) AS restricted_zip3,
    count(*) FILTER (
        WHERE geo_type = 'zip3' AND regexp_full_match(geo, '[0-9]{3}')
        AND (geo = '000' OR population <= 20000)
    ) AS small_zip3
FROM m

-- name: distinct
-- one column's distinct raw values (NULL included) with their row counts
SELECT __col__ AS col, __v__ AS v, count(*) AS n
FROM guard_scan
GROUP BY __v__

-- name: values
-- the values the value patterns read (__scope__ keeps text-like columns whole and, of numeric
-- and date columns, only the values that fail their type)
CREATE OR REPLACE TEMP TABLE guard_values AS
SELECT col, v, n
FROM guard_distinct
WHERE v IS NOT NULL AND v <> '' AND (__scope__)

-- name: normalise
-- NFKC and zero-width removal for the values that are not pure ASCII (strlen counts bytes,
-- length counts characters: they differ exactly when a value has a non-ASCII character)
UPDATE guard_values SET v = guard_normalise(v) WHERE strlen(v) <> length(v)
