-- The weekly panel's grid (data page): market-weeks, weeks, and market-weeks that some feed did
-- not measure (kept as gaps; the models skip them).
SELECT count(*) AS market_weeks,
       count(DISTINCT week_start) AS weeks,
       count(*) FILTER (WHERE NOT observed) AS unmeasured
FROM core.weekly_panel
