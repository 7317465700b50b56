-- The weekly panel every model reads (rebuilt by the weekly_panel asset).
-- new_patients = new_patient_calls + new_patient_bookings over all sources (the KPI).
CREATE TABLE IF NOT EXISTS core.weekly_panel (
    week_start   DATE    NOT NULL,
    geo          VARCHAR NOT NULL,
    population   BIGINT  NOT NULL,
    new_patients BIGINT  NOT NULL
);

-- Spend per paid channel (channels that appear in staging.spend), USD per week.
CREATE TABLE IF NOT EXISTS core.weekly_spend (
    week_start DATE    NOT NULL,
    geo        VARCHAR NOT NULL,
    channel    VARCHAR NOT NULL,
    spend      DOUBLE  NOT NULL
);

-- New patients per last-touch source (paid or unpaid) as the call-tracking and booking
-- systems credited them.
CREATE TABLE IF NOT EXISTS core.last_touch (
    week_start   DATE    NOT NULL,
    geo          VARCHAR NOT NULL,
    source       VARCHAR NOT NULL,
    new_patients BIGINT  NOT NULL
);
