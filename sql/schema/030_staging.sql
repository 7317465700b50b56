-- Accepted landing feeds, typed as in pipelines/feeds.py (CONTRACT s.2), one row per key after
-- restatements; `_file` and `_sha256` name the file each row came from.
-- Money is DECIMAL(18,2) (USD), counts are BIGINT, weeks are DATE (Mondays).
CREATE TABLE IF NOT EXISTS staging.markets (
    geo        VARCHAR NOT NULL,
    geo_type   VARCHAR NOT NULL,
    population BIGINT  NOT NULL,
    label      VARCHAR,
    _file      VARCHAR NOT NULL,
    _sha256    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.spend (
    week_start  DATE          NOT NULL,
    geo         VARCHAR       NOT NULL,
    channel     VARCHAR       NOT NULL,
    spend       DECIMAL(18,2) NOT NULL,
    impressions BIGINT,
    _file       VARCHAR       NOT NULL,
    _sha256     VARCHAR       NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.calls (
    week_start        DATE    NOT NULL,
    geo               VARCHAR NOT NULL,
    channel           VARCHAR NOT NULL,
    calls             BIGINT  NOT NULL,
    new_patient_calls BIGINT  NOT NULL,
    _file             VARCHAR NOT NULL,
    _sha256           VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.bookings (
    week_start           DATE    NOT NULL,
    geo                  VARCHAR NOT NULL,
    channel              VARCHAR NOT NULL,
    bookings             BIGINT  NOT NULL,
    new_patient_bookings BIGINT  NOT NULL,
    _file                VARCHAR NOT NULL,
    _sha256              VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.experiments (
    test_id    VARCHAR NOT NULL,
    channel    VARCHAR NOT NULL,
    geo        VARCHAR NOT NULL,
    role       VARCHAR NOT NULL,
    start_week DATE    NOT NULL,
    end_week   DATE    NOT NULL,
    design     VARCHAR NOT NULL,
    _file      VARCHAR NOT NULL,
    _sha256    VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS staging.controls (
    week_start DATE    NOT NULL,
    geo        VARCHAR NOT NULL,
    name       VARCHAR NOT NULL,
    value      DOUBLE  NOT NULL,
    _file      VARCHAR NOT NULL,
    _sha256    VARCHAR NOT NULL
);
