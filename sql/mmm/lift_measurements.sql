-- Geo-test results usable as MMM calibration: one row per analysed test with its treated markets.
SELECT
    r.test_id,
    r.channel,
    r.start_week,
    r.end_week,
    r.incremental_new_patients,
    r.incremental_new_patients_lo,
    r.incremental_new_patients_hi,
    r.incremental_spend,
    r.design,
    list(e.geo ORDER BY e.geo) AS geos
FROM marts.geo_test_results AS r
JOIN staging.experiments AS e
    ON e.test_id = r.test_id AND e.role = 'treatment'
WHERE r.incremental_new_patients IS NOT NULL
  AND r.incremental_new_patients_lo IS NOT NULL
  AND r.incremental_new_patients_hi IS NOT NULL
  AND r.incremental_spend IS NOT NULL
  AND r.incremental_spend > 0
GROUP BY ALL
ORDER BY r.test_id
