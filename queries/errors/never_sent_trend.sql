-- name: never_sent_trend
-- One row per UTC day from $first_day (the day of the cohort's earliest plan_selected_at) to the
-- day before $as_of's: the never-sent count as of the end of that day. An enrollment becomes
-- never-sent 24 hours after its plan selection (never before its application) and stops being so
-- when an outbound 021 to its issuer is sent or it is cancelled, whichever comes first. Running
-- sums of the prepared day_changes, which do not depend on $as_of; $as_of's own day, as of $as_of,
-- is the never_sent count (metrics.never_sent_trend adds it).
-- params: $as_of timestamp, $first_day date, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        CAST($first_day::DATE AS TIMESTAMP),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP) - INTERVAL 1 DAY,
        INTERVAL 1 DAY
    )
),

change AS (
    SELECT day, delta
    FROM cohort_day_changes($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                            $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE series = 'never_sent'
),

running AS (
    SELECT
        d.day AS date,
        CAST(sum(coalesce(c.delta, 0)) OVER (ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
             AS BIGINT) AS never_sent
    FROM day AS d
    LEFT JOIN change AS c ON c.day = d.day
),

final AS (
    SELECT * FROM running
)

SELECT * FROM final ORDER BY date
