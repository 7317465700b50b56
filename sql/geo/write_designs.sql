-- Replace the proposed designs (run inside one transaction after registering _geo_designs).
DELETE FROM geo.proposed_designs;
INSERT INTO geo.proposed_designs
SELECT
    channel, weeks, treatment_geos, control_geos, mde_new_patients, mde_pct, power,
    expected_lost_new_patients, expected_spend_saved, assumed_pac, assumed_pac_source,
    proposed_at
FROM _geo_designs
ORDER BY channel;
