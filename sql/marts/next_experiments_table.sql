-- marts.next_experiments: the geo test to run next, one row per paid channel with a proposed
-- design, ranked by what the test would teach (models.experiments). Replaced in one
-- transaction from the registered frame `_next_experiments`, stamped with the refresh time
-- (`SET VARIABLE refreshed_at`). Money USD; counts new patients; PAC USD per new patient.
-- value_usd = window spend x (relative width of the 90% PAC interval now - expected after
-- calibrating with the test): the ranking key. expected_pac_lo/hi: the 90% PAC interval
-- expected after calibrating, simulated from the posterior (importance reweighting, no refit).
CREATE SCHEMA IF NOT EXISTS marts;
CREATE TABLE IF NOT EXISTS marts.next_experiments (
    rank                   INTEGER   NOT NULL,
    channel                VARCHAR   NOT NULL,
    design                 VARCHAR   NOT NULL,
    weeks                  INTEGER   NOT NULL,
    treatment_geos         VARCHAR[],
    control_geos           VARCHAR[],
    spend_change           DOUBLE,
    mde_new_patients       DOUBLE,
    expected_lift          DOUBLE,
    detection_probability  DOUBLE,
    spend                  DOUBLE,
    pac                    DOUBLE,
    pac_lo                 DOUBLE,
    pac_hi                 DOUBLE,
    expected_pac_lo        DOUBLE,
    expected_pac_hi        DOUBLE,
    width_reduction        DOUBLE,
    value_usd              DOUBLE,
    effective_draws        DOUBLE,
    refreshed_at           TIMESTAMP NOT NULL
);
