-- Rebuild core.last_touch, core.weekly_panel and core.weekly_spend from staging (run inside one
-- transaction by pipelines.panel.build_panel_tables).
--
-- Week grid: consecutive Mondays from the latest first week to the earliest last week of the
-- feeds that have rows (calls, bookings, spend), so a week missing from a feed counts as 0 only
-- inside the range that feed observed. Market grid: every market of staging.markets.

DELETE FROM core.last_touch;
DELETE FROM core.weekly_panel;
DELETE FROM core.weekly_spend;

-- New patients per last-touch source (paid channels and unpaid sources alike).
INSERT INTO core.last_touch (week_start, geo, source, new_patients)
SELECT week_start, geo, channel AS source, CAST(sum(n) AS BIGINT) AS new_patients
FROM (
    SELECT week_start, geo, channel, new_patient_calls AS n FROM staging.calls
    UNION ALL
    SELECT week_start, geo, channel, new_patient_bookings AS n FROM staging.bookings
)
GROUP BY week_start, geo, channel;

CREATE OR REPLACE TEMP TABLE _panel_weeks AS
WITH ranges AS (
    SELECT min(week_start) AS lo, max(week_start) AS hi FROM staging.calls
    UNION ALL
    SELECT min(week_start), max(week_start) FROM staging.bookings
    UNION ALL
    SELECT min(week_start), max(week_start) FROM staging.spend
),
span AS (
    SELECT max(lo) AS lo, min(hi) AS hi FROM ranges WHERE lo IS NOT NULL
)
SELECT CAST(w AS DATE) AS week_start
FROM span, unnest(range(CAST(span.lo AS TIMESTAMP), CAST(span.hi AS TIMESTAMP) + INTERVAL 1 DAY,
                        INTERVAL 7 DAY)) AS t(w)
WHERE span.lo IS NOT NULL AND span.lo <= span.hi;

INSERT INTO core.weekly_panel (week_start, geo, population, new_patients)
SELECT w.week_start, m.geo, m.population, CAST(coalesce(sum(lt.new_patients), 0) AS BIGINT)
FROM _panel_weeks AS w
CROSS JOIN staging.markets AS m
LEFT JOIN core.last_touch AS lt ON lt.week_start = w.week_start AND lt.geo = m.geo
GROUP BY w.week_start, m.geo, m.population;

-- Paid channels are the channels that appear in the spend feed.
INSERT INTO core.weekly_spend (week_start, geo, channel, spend)
SELECT w.week_start, m.geo, c.channel, CAST(coalesce(s.spend, 0) AS DOUBLE)
FROM _panel_weeks AS w
CROSS JOIN staging.markets AS m
CROSS JOIN (SELECT DISTINCT channel FROM staging.spend) AS c
LEFT JOIN staging.spend AS s
    ON s.week_start = w.week_start AND s.geo = m.geo AND s.channel = c.channel;

DROP TABLE _panel_weeks;
