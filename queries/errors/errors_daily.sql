-- name: errors_daily
-- One row per UTC day from the first to the last day with a counted outbound 834 (days with none
-- included, with zeros): sent, errored and each category's count that day.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH counted AS (
    SELECT *, CAST(sent_at AS DATE) AS sent_day
    FROM counted_outbound_834($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[])
),

per_day AS (
    SELECT sent_day, error_counts(true, c) AS counts
    FROM counted AS c
    GROUP BY sent_day
),

day AS (
    SELECT CAST(generate_series AS DATE) AS sent_day
    FROM generate_series(
        (SELECT CAST(min(sent_day) AS TIMESTAMP) FROM per_day),
        (SELECT CAST(max(sent_day) AS TIMESTAMP) FROM per_day),
        INTERVAL 1 DAY
    )
),

final AS (
    SELECT
        d.sent_day AS date,
        -- a day without a counted 834 has no per_day row: zeros
        coalesce(COLUMNS(counts.*), 0) AS '\0'
    FROM day AS d
    LEFT JOIN per_day AS p ON p.sent_day = d.sent_day
)

SELECT * FROM final ORDER BY date
