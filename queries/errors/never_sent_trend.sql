-- name: never_sent_trend
-- One row per UTC day from the day of the cohort's earliest plan_selected_at to $as_of's day: the
-- never-sent count as of the end of that day (as of $as_of on its own day). An enrollment becomes
-- never-sent 24 hours after its plan selection (never before its application) and stops being so
-- when an outbound 021 to its issuer is sent or it is cancelled, whichever comes first. The days
-- before $as_of's are running sums of the prepared day_changes; $as_of's own day is counted from
-- the enrollments' times as of $as_of.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH now AS (
    -- one pass over the cohort as of $as_of; first_sent_834: the first outbound 021 to the
    -- enrollment's issuer, whatever the funnel order
    SELECT
        CAST(min(plan_selected_at) FILTER (WHERE plan_selected_at <= $as_of::TIMESTAMP) AS DATE) AS first_day,
        -- (every cohort enrollment's application is submitted by $as_of)
        count(*) FILTER (
            WHERE plan_selected_at <= $as_of::TIMESTAMP - INTERVAL 24 HOURS
              AND (first_sent_834 IS NULL OR first_sent_834 > $as_of::TIMESTAMP)
              AND (cancelled_at IS NULL OR cancelled_at > $as_of::TIMESTAMP)
        ) AS never_sent
    FROM milestone_cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                          $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE plan_selected_at IS NOT NULL
),

day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        (SELECT CAST(first_day AS TIMESTAMP) FROM now),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP),
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
    SELECT
        r.date,
        CASE WHEN r.date < CAST($as_of::TIMESTAMP AS DATE) THEN r.never_sent ELSE n.never_sent END AS never_sent
    FROM running AS r
    CROSS JOIN now AS n
)

SELECT * FROM final ORDER BY date
