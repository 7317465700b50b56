-- The weekly panel every model reads (rebuilt by the weekly_panel asset).
-- new_patients = new_patient_calls + new_patient_bookings over all sources (the KPI).
-- observed = false where a feed did not measure the market that week (new_patients is then a
-- placeholder 0, not a count; see sql/core/weekly_panel.sql).
CREATE TABLE IF NOT EXISTS core.weekly_panel (
    week_start   DATE    NOT NULL,
    geo          VARCHAR NOT NULL,
    population   BIGINT  NOT NULL,
    new_patients BIGINT  NOT NULL,
    observed     BOOLEAN NOT NULL DEFAULT true
);
-- Warehouses built before the observed column existed.
ALTER TABLE core.weekly_panel ADD COLUMN IF NOT EXISTS observed BOOLEAN DEFAULT true;

-- What each feed measured per market: first and last week with a row, and how many weeks had
-- rows (feed is calls, bookings, spend or controls).
CREATE TABLE IF NOT EXISTS core.feed_coverage (
    feed            VARCHAR NOT NULL,
    geo             VARCHAR NOT NULL,
    first_week      DATE    NOT NULL,
    last_week       DATE    NOT NULL,
    weeks_with_rows BIGINT  NOT NULL
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
