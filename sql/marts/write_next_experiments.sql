-- Replace marts.next_experiments with this refresh's ranking (inside one transaction, after
-- registering `_next_experiments` and `SET VARIABLE refreshed_at`).
DELETE FROM marts.next_experiments;
INSERT INTO marts.next_experiments
SELECT
    rank, channel, design, weeks, treatment_geos, control_geos, spend_change,
    mde_new_patients, expected_lift, detection_probability, spend, pac, pac_lo, pac_hi,
    expected_pac_lo, expected_pac_hi, width_reduction, value_usd, effective_draws,
    getvariable('refreshed_at')::TIMESTAMP AS refreshed_at
FROM _next_experiments
ORDER BY rank;
