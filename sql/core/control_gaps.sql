-- Per control name: observed panel cells (market, week) without a value in staging.controls.
-- pipelines.panel.read_panel fills those with the market's mean of the control; this count is
-- what the run log and the data page report.
SELECT n.name, count(*) FILTER (WHERE c.value IS NULL) AS filled_cells
FROM core.weekly_panel AS p
CROSS JOIN (SELECT DISTINCT name FROM staging.controls) AS n
LEFT JOIN staging.controls AS c
    ON c.week_start = p.week_start AND c.geo = p.geo AND c.name = n.name
WHERE p.observed
GROUP BY n.name
ORDER BY n.name;
