-- National weekly spend per paid channel: lowest and highest inside the reporting window
-- (window_start..window_end, bound as $1, $2) and over the whole fitted history. USD per week.
-- Weeks of the panel with no spend row count as 0.
WITH weeks AS (
    SELECT DISTINCT week_start FROM core.weekly_panel
),
channels AS (
    SELECT DISTINCT channel FROM core.weekly_spend
),
weekly AS (
    SELECT w.week_start, c.channel, coalesce(sum(s.spend), 0) AS spend
    FROM weeks AS w
    CROSS JOIN channels AS c
    LEFT JOIN core.weekly_spend AS s
        ON s.week_start = w.week_start AND s.channel = c.channel
    GROUP BY w.week_start, c.channel
)
SELECT
    channel,
    min(spend) FILTER (WHERE week_start BETWEEN $1 AND $2) AS window_low,
    max(spend) FILTER (WHERE week_start BETWEEN $1 AND $2) AS window_high,
    min(spend) AS seen_low,
    max(spend) AS seen_high,
    count(*) FILTER (WHERE week_start BETWEEN $1 AND $2) AS window_weeks
FROM weekly
GROUP BY channel
ORDER BY channel;
