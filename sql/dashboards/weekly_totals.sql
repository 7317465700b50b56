-- National new patients per week for the pages. A week in which some market was not measured by
-- every feed (core.weekly_panel.observed = false) has no total: a gap, not a dip.
SELECT week_start,
       CASE WHEN bool_and(observed) THEN sum(new_patients) END AS new_patients
FROM core.weekly_panel
GROUP BY week_start
ORDER BY week_start
