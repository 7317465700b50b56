-- Per-column type rules of the privacy guard (docs/contract.md sections 2 and 3).
--
-- Each section "-- name: <type>:<rule>" is a boolean SQL expression over the raw text value
-- __v__ (never NULL or empty here: missing values are counted by the caller). <type> is a
-- pipelines.feeds.ColumnType value; "<type>:valid" says whether the text parses as the type and
-- may be used inside the other sections as __valid__. A TEXT column's sections are named by the
-- column ("text.label:<rule>"). Placeholders filled by the guard: __slug_pattern__
-- (pipelines.feeds.SLUG_PATTERN), __values__ (an ENUM column's values), and the allowlists of
-- pipelines.guard.allowlists: __slug_digit_run__ (a run of digits slugs may not hold),
-- __state_codes__, __label_pattern__.
-- Every function here is total (try_strptime, TRY_CAST): no rule can raise and quote a value.

-- name: date:valid
(regexp_full_match(__v__, '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND try_strptime(__v__, '%Y-%m-%d') IS NOT NULL)

-- name: date:bad_type
NOT __valid__

-- name: date:date_of_birth
__valid__ AND try_strptime(__v__, '%Y-%m-%d') < TIMESTAMP '2000-01-01'

-- name: monday:valid
(regexp_full_match(__v__, '[0-9]{4}-[0-9]{2}-[0-9]{2}') AND try_strptime(__v__, '%Y-%m-%d') IS NOT NULL)

-- name: monday:bad_type
NOT __valid__

-- name: monday:not_monday
__valid__ AND isodow(try_strptime(__v__, '%Y-%m-%d')) <> 1

-- name: monday:date_of_birth
__valid__ AND try_strptime(__v__, '%Y-%m-%d') < TIMESTAMP '2000-01-01'

-- name: integer:valid
regexp_full_match(__v__, '-?[0-9]{1,18}')

-- name: integer:bad_type
NOT __valid__

-- name: integer:negative_value
__valid__ AND TRY_CAST(__v__ AS BIGINT) < 0

-- name: money:valid
regexp_full_match(__v__, '-?[0-9]{1,15}(\.[0-9]{1,2})?')

-- name: money:bad_type
NOT __valid__

-- name: money:negative_value
__valid__ AND TRY_CAST(__v__ AS DECIMAL(18, 2)) < 0

-- name: number:valid
(regexp_full_match(__v__, '[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?')
 AND isfinite(TRY_CAST(__v__ AS DOUBLE)))

-- name: number:bad_type
NOT __valid__

-- name: slug:valid
(regexp_full_match(__v__, '__slug_pattern__') AND NOT regexp_matches(__v__, '__slug_digit_run__'))

-- name: slug:bad_slug
NOT __valid__

-- name: enum:valid
__v__ IN (__values__)

-- name: enum:bad_type
NOT __valid__

-- name: geo:valid
-- a market code of one of the geo types: three digits (zip3, dma), a state code, a custom slug
(regexp_full_match(__v__, '[0-9]{3}') OR __v__ IN (__state_codes__)
 OR (regexp_full_match(__v__, '__slug_pattern__') AND NOT regexp_matches(__v__, '__slug_digit_run__')))

-- name: geo:bad_geo_code
NOT __valid__

-- name: text.label:valid
(regexp_full_match(__v__, '__label_pattern__') AND NOT contains(__v__, '@')
 AND NOT regexp_matches(__v__, '[0-9]{5}'))

-- name: text.label:bad_label
NOT __valid__
