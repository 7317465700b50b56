-- Replace the geo-test results with this refresh's (run inside one transaction, after
-- registering the frames _geo_results, _geo_series, _geo_messages and _geo_crosscheck).
DELETE FROM marts.geo_test_results;
INSERT INTO marts.geo_test_results
SELECT
    test_id, channel, design, start_week, end_week, treatment_geos,
    incremental_new_patients, incremental_new_patients_lo, incremental_new_patients_hi,
    lift_pct, p_value, incremental_spend, pac, pac_lo, pac_hi, method,
    CASE
        WHEN incremental_new_patients_lo > 0 OR incremental_new_patients_hi < 0 THEN 'conclusive'
        ELSE 'inconclusive'
    END AS status,
    carryover_weeks, incremental_new_patients_with_carryover,
    incremental_new_patients_with_carryover_lo, incremental_new_patients_with_carryover_hi,
    pac_with_carryover, pac_with_carryover_lo, pac_with_carryover_hi
FROM _geo_results
ORDER BY test_id;

DELETE FROM geo.test_series;
INSERT INTO geo.test_series
SELECT test_id, week_start, treated, counterfactual, counterfactual_lo, counterfactual_hi, in_test
FROM _geo_series
ORDER BY test_id, week_start;

DELETE FROM geo.test_messages;
INSERT INTO geo.test_messages
SELECT test_id, ok, message FROM _geo_messages ORDER BY test_id;

DELETE FROM geo.test_crosscheck;
INSERT INTO geo.test_crosscheck
SELECT test_id, method, incremental_new_patients, incremental_new_patients_lo,
       incremental_new_patients_hi
FROM _geo_crosscheck
ORDER BY test_id;
