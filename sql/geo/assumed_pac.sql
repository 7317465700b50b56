-- The PAC a design assumes for a channel's expected lost new patients: the MMM's PAC of the
-- latest refresh when marts.pac_by_channel has one, else the last-touch PAC over the last 52
-- weeks of core.last_touch / core.weekly_spend. Parameter: ? = channel.
WITH lt AS (
    SELECT
        sum(s.spend) AS spend,
        (SELECT sum(t.new_patients) FROM core.last_touch AS t
         WHERE t.source = ? AND t.week_start > (SELECT max(week_start) FROM core.weekly_spend)
               - INTERVAL 52 WEEK) AS new_patients
    FROM core.weekly_spend AS s
    WHERE s.channel = ?
      AND s.week_start > (SELECT max(week_start) FROM core.weekly_spend) - INTERVAL 52 WEEK
)
SELECT
    CASE WHEN new_patients > 0 THEN spend / new_patients END AS pac,
    'last_touch' AS source
FROM lt
