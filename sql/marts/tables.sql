-- Published marts owned by the marts assets (CONTRACT s.4). Idempotent.
-- Money is USD (DOUBLE); incremental counts are posterior summaries (DOUBLE);
-- last-touch counts are whole numbers. geo_test_status: 'conclusive' or 'inconclusive' (the
-- status of the test in marts.geo_test_results), 'none' when the channel has no analysed test;
-- added last so that warehouses made before it are migrated in place.
CREATE TABLE IF NOT EXISTS marts.pac_by_channel (
    channel                      VARCHAR   NOT NULL,
    window_start                 DATE,
    window_end                   DATE,
    spend                        DOUBLE,
    last_touch_new_patients      BIGINT,
    last_touch_pac               DOUBLE,
    incremental_new_patients     DOUBLE,
    incremental_new_patients_lo  DOUBLE,
    incremental_new_patients_hi  DOUBLE,
    pac                          DOUBLE,
    pac_lo                       DOUBLE,
    pac_hi                       DOUBLE,
    marginal_pac                 DOUBLE,
    geo_test_pac                 DOUBLE,
    geo_test_pac_lo              DOUBLE,
    geo_test_pac_hi              DOUBLE,
    refreshed_at                 TIMESTAMP NOT NULL,
    geo_test_status              VARCHAR
);

-- marts.pac_by_channel of every refresh, appended (week-over-week change).
CREATE TABLE IF NOT EXISTS marts.pac_history (
    channel                      VARCHAR   NOT NULL,
    window_start                 DATE,
    window_end                   DATE,
    spend                        DOUBLE,
    last_touch_new_patients      BIGINT,
    last_touch_pac               DOUBLE,
    incremental_new_patients     DOUBLE,
    incremental_new_patients_lo  DOUBLE,
    incremental_new_patients_hi  DOUBLE,
    pac                          DOUBLE,
    pac_lo                       DOUBLE,
    pac_hi                       DOUBLE,
    marginal_pac                 DOUBLE,
    geo_test_pac                 DOUBLE,
    geo_test_pac_lo              DOUBLE,
    geo_test_pac_hi              DOUBLE,
    refreshed_at                 TIMESTAMP NOT NULL,
    geo_test_status              VARCHAR
);

ALTER TABLE marts.pac_by_channel ADD COLUMN IF NOT EXISTS geo_test_status VARCHAR;
ALTER TABLE marts.pac_history ADD COLUMN IF NOT EXISTS geo_test_status VARCHAR;
