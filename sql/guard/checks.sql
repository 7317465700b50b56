-- Whole-file checks of the privacy guard. guard_scan is the file read as text (columns c0, c1,
-- ...); guard_distinct(col, v, n) holds each column's distinct values and row counts. Sections
-- "-- name: <check>"; placeholders (__col__, __v__, ...) are column numbers or references filled
-- in by the guard. Each query returns counts and the positions of the first rows that hit
-- (guard_scan's rowid: 0-based, in file order; at most __limit__), never a value.

-- name: duplicate_key
-- rows whose key appears more than once in the file (one row per event is the usual cause)
SELECT coalesce(sum(n), 0)
FROM (SELECT count(*) AS n FROM guard_scan GROUP BY __key__ HAVING count(*) > 1)

-- name: duplicate_key_rows
-- the first of those rows (run only when there are some)
SELECT min(r, __limit__)
FROM (SELECT rowid AS r FROM guard_scan QUALIFY count(*) OVER (PARTITION BY __key__) > 1)

-- name: count_exceeds_total
SELECT count(*), min(rowid, __limit__)
FROM guard_scan
WHERE TRY_CAST(__part__ AS BIGINT) > TRY_CAST(__total__ AS BIGINT)

-- name: value_count
-- rows of column __col__ whose value v meets __condition__ (a condition on v alone, as are the
-- rules of column_rules.sql), counted over the column's distinct values
SELECT coalesce(sum(n), 0) FROM guard_distinct WHERE col = __col__ AND (__condition__)

-- name: value_rows
-- the first rows whose value v of column __v__ meets __condition__ (run only when some do;
-- __window__ limits the rows searched)
SELECT min(r, __limit__)
FROM (SELECT rowid AS r, __v__ AS v FROM guard_scan WHERE __window__)
WHERE __condition__

-- name: unknown_geo
-- a geo that is not listed in the markets feed (guard_known_geos holds the markets' codes)
v IS NOT NULL AND v <> '' AND v NOT IN (SELECT geo FROM guard_known_geos)

-- name: markets
-- geo codes by geo_type (the allowlist of each type), the Safe Harbor ZIP3 rules (a restricted
-- prefix from guard_restricted_zip3, a prefix with 20,000 people or fewer, or 000, is never a
-- market), markets of any other type with 20,000 people or fewer, and populations above what a
-- market of that type holds (guard_max_population).
WITH m AS (
    SELECT
        rowid AS r,
        __geo__ AS geo,
        __geo_type__ AS geo_type,
        TRY_CAST(__population__ AS BIGINT) AS population
    FROM guard_scan
    WHERE __geo__ IS NOT NULL AND __geo__ <> ''
),
shaped AS (
    SELECT
        m.*,
        p.max_population,
        regexp_full_match(m.geo, '[0-9]{3}') AS three_digits,
        m.geo IN (__state_codes__) AS state_code,
        regexp_full_match(m.geo, '__slug_pattern__')
            AND NOT regexp_matches(m.geo, '__slug_digit_run__') AS slug
    FROM m
    LEFT JOIN guard_max_population p ON p.geo_type = m.geo_type
),
flags AS (
    SELECT
        r,
        CASE geo_type
            WHEN 'zip3' THEN NOT three_digits
            WHEN 'dma' THEN NOT (three_digits AND geo BETWEEN '__dma_low__' AND '__dma_high__')
            WHEN 'state' THEN NOT state_code
            WHEN 'custom' THEN NOT slug
            ELSE NOT (three_digits OR state_code OR slug)
        END AS bad_geo_code,
        geo_type = 'zip3' AND geo IN (SELECT zip3 FROM guard_restricted_zip3) AS restricted_zip3,
        geo_type = 'zip3' AND three_digits AND (geo = '000' OR population <= __min_population__)
            AS small_zip3,
        geo_type IS DISTINCT FROM 'zip3' AND population <= __min_population__ AS small_market,
        population > coalesce(max_population, __default_population__) AS implausible_population
    FROM shaped
)
-- per rule: the rows that hit it and the first of them
SELECT
    count(*) FILTER (WHERE bad_geo_code), min(r, __limit__) FILTER (WHERE bad_geo_code),
    count(*) FILTER (WHERE restricted_zip3), min(r, __limit__) FILTER (WHERE restricted_zip3),
    count(*) FILTER (WHERE small_zip3), min(r, __limit__) FILTER (WHERE small_zip3),
    count(*) FILTER (WHERE small_market), min(r, __limit__) FILTER (WHERE small_market),
    count(*) FILTER (WHERE implausible_population),
    min(r, __limit__) FILTER (WHERE implausible_population)
FROM flags

-- name: too_many_values
-- distinct non-empty values of one column (its rows are in guard_distinct)
SELECT count(*) FROM guard_distinct WHERE col = __col__ AND v IS NOT NULL AND v <> ''

-- name: above_cap
-- a number above __cap__ in absolute value (counted with value_count, a quick test on distinct
-- values: with the smallest known population as the cap, a clean file needs no per-row join)
abs(TRY_CAST(v AS DOUBLE)) > __cap__

-- name: above_cap_per_head
-- rows whose value exceeds __ratio__ times the population of the row's market
-- (guard_known_geos; __default_population__ where the market's population is unknown)
SELECT count(*), min(s.rowid, __limit__)
FROM guard_scan s
LEFT JOIN guard_known_geos g ON s.__geo__ = g.geo
WHERE TRY_CAST(s.__value__ AS DOUBLE)
    > __ratio__ * coalesce(g.population, __default_population__)

-- name: distinct
-- one column's distinct raw values (NULL included) with their row counts
SELECT __col__ AS col, __v__ AS v, count(*) AS n
FROM guard_scan
GROUP BY __v__

-- name: values
-- the values the value patterns read (__scope__ keeps text-like columns whole and, of numeric
-- and date columns, only the values that fail their type); t marks the contract's text fields;
-- raw keeps the value as read (v is normalised next), to find the rows that hold it
CREATE OR REPLACE TEMP TABLE guard_values AS
SELECT col, v, n, col IN (__text_cols__) AS t, v AS raw
FROM guard_distinct
WHERE v IS NOT NULL AND v <> '' AND (__scope__)

-- name: pattern_rows
-- per value pattern that matched in column __col__ (__any__), the first rows whose value it
-- matched (__first_rows__: min(r, __limit__) FILTER (WHERE <pattern>) for each); a header cell
-- that matched (raw NULL: the first line of a file without a header row) is row __header_row__;
-- __window__ limits the rows searched
WITH f AS (SELECT * FROM guard_value_flags WHERE col = __col__ AND (__any__))
SELECT __first_rows__
FROM (
    SELECT s.r, f.*
    FROM (SELECT rowid AS r, __v__ AS v FROM guard_scan WHERE __window__) s
    JOIN f ON s.v = f.raw
    UNION ALL BY NAME
    SELECT __header_row__ AS r, * FROM f WHERE raw IS NULL
)

-- name: normalise
-- NFKC and zero-width removal for the values that are not pure ASCII (strlen counts bytes,
-- length counts characters: they differ exactly when a value has a non-ASCII character)
UPDATE guard_values SET v = guard_normalise(v) WHERE strlen(v) <> length(v)
