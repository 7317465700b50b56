-- Rebuild marts.pac_by_channel for this refresh and append it to marts.pac_history.
-- Run inside one transaction, after `SET VARIABLE refreshed_at = <timestamp>`.
-- One row per paid channel (channels of core.weekly_spend). The window is the MMM's
-- (mmm.channel_summary); spend is the MMM's window spend where it has the channel, else the
-- warehouse's. Last touch: new patients the call-tracking / booking systems credited to the
-- channel inside the window. geo_test_*: the most recent test of the channel (latest end week);
-- geo_test_status 'none' when the channel has no analysed test.
DELETE FROM marts.pac_by_channel;

INSERT INTO marts.pac_by_channel
WITH channels AS (
    SELECT DISTINCT channel FROM core.weekly_spend
),
win AS (
    SELECT min(window_start) AS window_start, max(window_end) AS window_end
    FROM mmm.channel_summary
),
window_spend AS (
    SELECT s.channel, sum(s.spend) AS spend
    FROM core.weekly_spend AS s, win
    WHERE s.week_start BETWEEN win.window_start AND win.window_end
    GROUP BY s.channel
),
last_touch AS (
    SELECT t.source AS channel, sum(t.new_patients) AS new_patients
    FROM core.last_touch AS t, win
    WHERE t.week_start BETWEEN win.window_start AND win.window_end
    GROUP BY t.source
),
latest_test AS (
    SELECT channel, pac, pac_lo, pac_hi, status
    FROM marts.geo_test_results
    QUALIFY row_number() OVER (
        PARTITION BY channel ORDER BY end_week DESC, start_week DESC, test_id DESC
    ) = 1
)
SELECT
    c.channel,
    coalesce(m.window_start, win.window_start) AS window_start,
    coalesce(m.window_end, win.window_end) AS window_end,
    coalesce(m.spend, ws.spend, 0) AS spend,
    coalesce(lt.new_patients, 0)::BIGINT AS last_touch_new_patients,
    CASE WHEN coalesce(lt.new_patients, 0) > 0
         THEN coalesce(m.spend, ws.spend, 0) / lt.new_patients END AS last_touch_pac,
    m.incremental_new_patients,
    m.incremental_new_patients_lo,
    m.incremental_new_patients_hi,
    m.pac,
    m.pac_lo,
    m.pac_hi,
    m.marginal_pac,
    g.pac AS geo_test_pac,
    g.pac_lo AS geo_test_pac_lo,
    g.pac_hi AS geo_test_pac_hi,
    getvariable('refreshed_at')::TIMESTAMP AS refreshed_at,
    coalesce(g.status, 'none') AS geo_test_status
FROM channels AS c
CROSS JOIN win
LEFT JOIN mmm.channel_summary AS m USING (channel)
LEFT JOIN window_spend AS ws USING (channel)
LEFT JOIN last_touch AS lt USING (channel)
LEFT JOIN latest_test AS g USING (channel)
ORDER BY c.channel;

INSERT INTO marts.pac_history
SELECT * FROM marts.pac_by_channel;
