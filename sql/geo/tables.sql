-- Tables of the geo-test domain (idempotent). marts.geo_test_results is published (CONTRACT
-- s.4): one row per analysed test. geo.* holds what the dashboards and analysts need beside it.
CREATE SCHEMA IF NOT EXISTS marts;
CREATE SCHEMA IF NOT EXISTS geo;

-- Incremental counts are new patients over the test weeks in the treatment markets (higher
-- spend arm minus lower; positive for a holdout that lost patients), 90% intervals; money USD;
-- pac_hi is NULL when the effect's interval reaches 0 (unbounded). status says how to read the
-- result: 'conclusive' (the 90% interval of the effect excludes zero) or 'inconclusive' (it
-- includes zero: the test cannot tell the channel's effect from none, and its PAC interval is
-- open-ended). Added last so that warehouses made before it are migrated in place.
-- The test-weeks columns exclude carry-over (new patients the changed spend still moves after
-- the test ends). carryover_weeks says how many weeks after the test were measured too (0 to 8;
-- 0 when the data end with the test) and *_with_carryover are the effect and PAC over the test
-- weeks plus those weeks (NULL when carryover_weeks is 0): the PAC comparable with the MMM's.
CREATE TABLE IF NOT EXISTS marts.geo_test_results (
    test_id                      VARCHAR NOT NULL,
    channel                      VARCHAR NOT NULL,
    design                       VARCHAR NOT NULL,
    start_week                   DATE    NOT NULL,
    end_week                     DATE    NOT NULL,
    treatment_geos               INTEGER NOT NULL,
    incremental_new_patients     DOUBLE,
    incremental_new_patients_lo  DOUBLE,
    incremental_new_patients_hi  DOUBLE,
    lift_pct                     DOUBLE,
    p_value                      DOUBLE,
    incremental_spend            DOUBLE,
    pac                          DOUBLE,
    pac_lo                       DOUBLE,
    pac_hi                       DOUBLE,
    method                       VARCHAR,
    status                       VARCHAR,
    carryover_weeks              INTEGER,
    incremental_new_patients_with_carryover     DOUBLE,
    incremental_new_patients_with_carryover_lo  DOUBLE,
    incremental_new_patients_with_carryover_hi  DOUBLE,
    pac_with_carryover           DOUBLE,
    pac_with_carryover_lo        DOUBLE,
    pac_with_carryover_hi        DOUBLE
);
ALTER TABLE marts.geo_test_results ADD COLUMN IF NOT EXISTS status VARCHAR;
ALTER TABLE marts.geo_test_results ADD COLUMN IF NOT EXISTS carryover_weeks INTEGER;
ALTER TABLE marts.geo_test_results
    ADD COLUMN IF NOT EXISTS incremental_new_patients_with_carryover DOUBLE;
ALTER TABLE marts.geo_test_results
    ADD COLUMN IF NOT EXISTS incremental_new_patients_with_carryover_lo DOUBLE;
ALTER TABLE marts.geo_test_results
    ADD COLUMN IF NOT EXISTS incremental_new_patients_with_carryover_hi DOUBLE;
ALTER TABLE marts.geo_test_results ADD COLUMN IF NOT EXISTS pac_with_carryover DOUBLE;
ALTER TABLE marts.geo_test_results ADD COLUMN IF NOT EXISTS pac_with_carryover_lo DOUBLE;
ALTER TABLE marts.geo_test_results ADD COLUMN IF NOT EXISTS pac_with_carryover_hi DOUBLE;

-- Weekly series of each analysed test: summed actual new patients of the treatment markets,
-- the synthetic-control counterfactual and a pointwise 90% band; in_test marks the test weeks.
CREATE TABLE IF NOT EXISTS geo.test_series (
    test_id            VARCHAR NOT NULL,
    week_start         DATE    NOT NULL,
    treated            DOUBLE,
    counterfactual     DOUBLE,
    counterfactual_lo  DOUBLE,
    counterfactual_hi  DOUBLE,
    in_test            BOOLEAN NOT NULL
);

-- One row per test of the experiments feed: analysed or not, and why not (no data values).
CREATE TABLE IF NOT EXISTS geo.test_messages (
    test_id  VARCHAR NOT NULL,
    ok       BOOLEAN NOT NULL,
    message  VARCHAR NOT NULL
);

-- The difference-in-differences cross-check of each analysed test (same sign and units as
-- marts.geo_test_results; cluster-robust interval, optimistic with few treated markets).
CREATE TABLE IF NOT EXISTS geo.test_crosscheck (
    test_id                      VARCHAR NOT NULL,
    method                       VARCHAR NOT NULL,
    incremental_new_patients     DOUBLE,
    incremental_new_patients_lo  DOUBLE,
    incremental_new_patients_hi  DOUBLE
);

-- A default holdout design per paid channel (models.geo.design.propose_design).
CREATE TABLE IF NOT EXISTS geo.proposed_designs (
    channel                     VARCHAR NOT NULL,
    weeks                       INTEGER NOT NULL,
    treatment_geos              VARCHAR[],
    control_geos                VARCHAR[],
    mde_new_patients            DOUBLE,
    mde_pct                     DOUBLE,
    power                       DOUBLE,
    expected_lost_new_patients  DOUBLE,
    expected_spend_saved        DOUBLE,
    assumed_pac                 DOUBLE,
    assumed_pac_source          VARCHAR,
    proposed_at                 TIMESTAMP NOT NULL
);
