-- What each feed measured (data page): per feed, its first and last week, the markets it covers,
-- and how many of them start later or end earlier than the feed as a whole (their weeks outside
-- that range are gaps, not zeros). Counts of markets, never of patients.
WITH c AS (
    SELECT feed, geo, first_week, last_week,
           min(first_week) OVER (PARTITION BY feed) AS feed_first,
           max(last_week) OVER (PARTITION BY feed) AS feed_last
    FROM core.feed_coverage
)
SELECT feed,
       min(first_week) AS first_week,
       max(last_week) AS last_week,
       count(*) AS markets,
       count(*) FILTER (WHERE first_week > feed_first) AS markets_starting_late,
       count(*) FILTER (WHERE last_week < feed_last) AS markets_ending_early
FROM c
GROUP BY feed
ORDER BY feed
