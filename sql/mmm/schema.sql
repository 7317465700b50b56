-- Tables written by the mmm_fit asset (one transaction per fit; each fit replaces the rows).
CREATE SCHEMA IF NOT EXISTS mmm;

-- One row per paid channel: window spend (USD), incremental new patients, PAC and marginal PAC
-- (USD per new patient): posterior median and 5th/95th percentiles.
CREATE TABLE IF NOT EXISTS mmm.channel_summary (
    channel VARCHAR NOT NULL,
    window_start DATE NOT NULL,
    window_end DATE NOT NULL,
    spend DOUBLE,
    incremental_new_patients DOUBLE,
    incremental_new_patients_lo DOUBLE,
    incremental_new_patients_hi DOUBLE,
    pac DOUBLE,
    pac_lo DOUBLE,
    pac_hi DOUBLE,
    marginal_pac DOUBLE,
    marginal_pac_lo DOUBLE,
    marginal_pac_hi DOUBLE,
    calibrated BOOLEAN,
    fitted_at TIMESTAMP
);

-- National weekly new patients per component (each channel and 'baseline').
CREATE TABLE IF NOT EXISTS mmm.contributions (
    week_start DATE NOT NULL,
    component VARCHAR NOT NULL,
    median DOUBLE,
    lo DOUBLE,
    hi DOUBLE
);

-- Steady-state national weekly new patients vs national weekly spend (USD), 0 .. 2x max seen.
CREATE TABLE IF NOT EXISTS mmm.response_curves (
    channel VARCHAR NOT NULL,
    weekly_spend DOUBLE,
    new_patients DOUBLE,
    new_patients_lo DOUBLE,
    new_patients_hi DOUBLE,
    current BOOLEAN
);

-- National weekly actual vs fitted new patients; holdout weeks are out-of-sample forecasts.
CREATE TABLE IF NOT EXISTS mmm.fit_vs_actual (
    week_start DATE NOT NULL,
    actual DOUBLE,
    fitted DOUBLE,
    fitted_lo DOUBLE,
    fitted_hi DOUBLE,
    holdout BOOLEAN
);

CREATE TABLE IF NOT EXISTS mmm.diagnostics (
    metric VARCHAR NOT NULL,
    value DOUBLE,
    threshold DOUBLE,
    passed BOOLEAN
);

CREATE TABLE IF NOT EXISTS mmm.fit_status (
    fitted_at TIMESTAMP,
    converged BOOLEAN,
    message VARCHAR,
    n_geos INTEGER,
    n_weeks INTEGER,
    n_channels INTEGER,
    seconds DOUBLE,
    calibrated BOOLEAN
);

-- The posterior response model of the last converged fit (models.mmm.response.ResponseModel):
-- one row per array of ResponseModel.to_arrays(), stored as .npy bytes (no pickle). The budget
-- plan reads it (pipelines.response_model).
CREATE TABLE IF NOT EXISTS mmm.response_model (
    name  VARCHAR NOT NULL,
    npy  BLOB    NOT NULL
);
