-- The MMM's PAC of a channel from the latest refresh (NULL when it has none). ? = channel.
SELECT pac FROM marts.pac_by_channel WHERE channel = ? AND pac IS NOT NULL AND pac > 0
