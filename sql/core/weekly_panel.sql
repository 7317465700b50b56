-- Rebuild core.last_touch, core.feed_coverage, core.weekly_panel and core.weekly_spend from
-- staging (run inside one transaction by pipelines.panel.build_panel_tables).
--
-- Coverage: a KPI feed (calls, bookings) measured a market from the first to the last week it
-- has a row for that market; the spend feed measured every market from its first to its last
-- week. A week without rows inside a coverage range counts as 0 (exports leave out empty rows).
-- Week grid: the UNION of the feeds' ranges (consecutive Mondays from the earliest first week
-- to the latest last week of the feeds that have rows), so a feed that starts late does not cut
-- the history of the others. Market grid: every market of staging.markets.
-- A (market, week) cell is observed when every KPI feed with rows covered it and the spend feed
-- covered the week; elsewhere new_patients and spend are placeholder zeros with observed = false
-- (gaps are not zeros: the models skip them).

DELETE FROM core.last_touch;
DELETE FROM core.feed_coverage;
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

-- What each feed measured, per market (controls: any control name).
INSERT INTO core.feed_coverage (feed, geo, first_week, last_week, weeks_with_rows)
SELECT feed, geo, min(week_start), max(week_start), count(DISTINCT week_start)
FROM (
    SELECT 'calls' AS feed, geo, week_start FROM staging.calls
    UNION ALL
    SELECT 'bookings', geo, week_start FROM staging.bookings
    UNION ALL
    SELECT 'spend', geo, week_start FROM staging.spend
    UNION ALL
    SELECT 'controls', geo, week_start FROM staging.controls
)
GROUP BY feed, geo;

CREATE OR REPLACE TEMP TABLE _panel_weeks AS
WITH span AS (
    SELECT min(first_week) AS lo, max(last_week) AS hi
    FROM core.feed_coverage
    WHERE feed IN ('calls', 'bookings', 'spend')
)
SELECT CAST(w AS DATE) AS week_start
FROM span, unnest(range(CAST(span.lo AS TIMESTAMP), CAST(span.hi AS TIMESTAMP) + INTERVAL 1 DAY,
                        INTERVAL 7 DAY)) AS t(w)
WHERE span.lo IS NOT NULL AND span.lo <= span.hi;

-- Observed cells: covered by every KPI feed that has rows, in a week the spend feed covered.
CREATE OR REPLACE TEMP TABLE _panel_observed AS
WITH kpi_feeds AS (
    SELECT DISTINCT feed FROM core.feed_coverage WHERE feed IN ('calls', 'bookings')
),
spend_span AS (
    SELECT min(first_week) AS lo, max(last_week) AS hi FROM core.feed_coverage WHERE feed = 'spend'
)
SELECT w.week_start, m.geo,
       (SELECT count(*) FROM kpi_feeds) = count(c.feed)
       AND coalesce(w.week_start BETWEEN any_value(s.lo) AND any_value(s.hi), true) AS observed
FROM _panel_weeks AS w
CROSS JOIN staging.markets AS m
CROSS JOIN spend_span AS s
LEFT JOIN core.feed_coverage AS c
    ON c.geo = m.geo AND c.feed IN ('calls', 'bookings')
    AND w.week_start BETWEEN c.first_week AND c.last_week
GROUP BY w.week_start, m.geo;

INSERT INTO core.weekly_panel (week_start, geo, population, new_patients, observed)
SELECT w.week_start, m.geo, m.population,
       CASE WHEN o.observed THEN CAST(coalesce(sum(lt.new_patients), 0) AS BIGINT) ELSE 0 END,
       o.observed
FROM _panel_weeks AS w
CROSS JOIN staging.markets AS m
JOIN _panel_observed AS o ON o.week_start = w.week_start AND o.geo = m.geo
LEFT JOIN core.last_touch AS lt ON lt.week_start = w.week_start AND lt.geo = m.geo
GROUP BY w.week_start, m.geo, m.population, o.observed;

-- Paid channels are the channels that appear in the spend feed.
INSERT INTO core.weekly_spend (week_start, geo, channel, spend)
SELECT w.week_start, m.geo, c.channel, CAST(coalesce(s.spend, 0) AS DOUBLE)
FROM _panel_weeks AS w
CROSS JOIN staging.markets AS m
CROSS JOIN (SELECT DISTINCT channel FROM staging.spend) AS c
LEFT JOIN staging.spend AS s
    ON s.week_start = w.week_start AND s.geo = m.geo AND s.channel = c.channel;

DROP TABLE _panel_observed;
DROP TABLE _panel_weeks;
