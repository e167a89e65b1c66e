-- name: never_sent_trend
-- One row per UTC day from the day of the cohort's earliest plan_selected_at to $as_of's day: the
-- never-sent count as of the end of that day (as of $as_of on its own day). One pass: an enrollment
-- becomes never-sent 24 hours after its plan selection and stops being so when an outbound 021 to
-- its issuer is sent or it is cancelled, whichever comes first.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH cohort AS (
    -- first_sent_834: the first outbound 021 to the enrollment's issuer, whatever the funnel order
    SELECT *, first_sent_834 AS first_sent_at
    FROM milestone_cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                          $states::VARCHAR[], $issuers::VARCHAR[])
),

interval AS (
    SELECT
        -- counted from 24 h after the selection, and never before the application exists
        greatest(plan_selected_at + INTERVAL 24 HOURS, application_submitted_at) AS started_at,
        CASE WHEN least(first_sent_at, cancelled_at) <= $as_of::TIMESTAMP
             THEN least(first_sent_at, cancelled_at) END AS ended_at
    FROM cohort
    WHERE plan_selected_at IS NOT NULL
),

change AS (
    SELECT CAST(started_at AS DATE) AS day, 1 AS delta
    FROM interval
    WHERE started_at <= $as_of::TIMESTAMP AND (ended_at IS NULL OR ended_at > started_at)
    UNION ALL
    SELECT CAST(ended_at AS DATE), -1
    FROM interval
    WHERE started_at <= $as_of::TIMESTAMP AND ended_at IS NOT NULL AND ended_at > started_at
),

day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        (SELECT CAST(CAST(min(plan_selected_at) AS DATE) AS TIMESTAMP) FROM cohort
         WHERE plan_selected_at <= $as_of::TIMESTAMP),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP),
        INTERVAL 1 DAY
    )
),

final AS (
    SELECT
        d.day AS date,
        CAST(sum(coalesce(c.delta, 0)) OVER (ORDER BY d.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
             AS BIGINT) AS never_sent
    FROM day AS d
    LEFT JOIN (SELECT day, sum(delta) AS delta FROM change GROUP BY day) AS c ON c.day = d.day
)

SELECT * FROM final ORDER BY date
