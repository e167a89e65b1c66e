-- name: stage_counts_by_day
-- One row per UTC day from $first_day (the cohort's first application day) to the day before
-- $as_of's: cohort enrollments that had reached each funnel stage, and that were cancelled, as of
-- the end of that day (a cancellation counts from when the application exists): running sums of
-- the prepared day_changes, which do not depend on $as_of. $as_of's own day, as of $as_of, is the
-- funnel's counts (metrics.stage_counts_by_day adds it). Feeds sparklines and week-over-week /
-- day-over-day changes of the funnel counts.
-- params: $as_of timestamp, $first_day date, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        CAST($first_day::DATE AS TIMESTAMP),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP) - INTERVAL 1 DAY,
        INTERVAL 1 DAY
    )
),

per_day AS (
    SELECT series AS stage, day, delta AS n
    FROM cohort_day_changes($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                            $states::VARCHAR[], $issuers::VARCHAR[])
),

wide AS (
    SELECT
        d.day,
        sum(p.n) FILTER (WHERE p.stage = 'applied') AS applied,
        sum(p.n) FILTER (WHERE p.stage = 'plan_selected') AS plan_selected,
        sum(p.n) FILTER (WHERE p.stage = 'sent_834') AS sent_834,
        sum(p.n) FILTER (WHERE p.stage = 'accepted_834') AS accepted_834,
        sum(p.n) FILTER (WHERE p.stage = 'reached_payment') AS reached_payment,
        sum(p.n) FILTER (WHERE p.stage = 'paid') AS paid,
        sum(p.n) FILTER (WHERE p.stage = 'effectuated') AS effectuated,
        sum(p.n) FILTER (WHERE p.stage = 'cancelled') AS cancelled
    FROM day AS d
    LEFT JOIN per_day AS p ON p.day = d.day
    GROUP BY d.day
),

running AS (
    SELECT
        day AS date,
        CAST(sum(coalesce(applied, 0)) OVER w AS BIGINT) AS applied,
        CAST(sum(coalesce(plan_selected, 0)) OVER w AS BIGINT) AS plan_selected,
        CAST(sum(coalesce(sent_834, 0)) OVER w AS BIGINT) AS sent_834,
        CAST(sum(coalesce(accepted_834, 0)) OVER w AS BIGINT) AS accepted_834,
        CAST(sum(coalesce(reached_payment, 0)) OVER w AS BIGINT) AS reached_payment,
        CAST(sum(coalesce(paid, 0)) OVER w AS BIGINT) AS paid,
        CAST(sum(coalesce(effectuated, 0)) OVER w AS BIGINT) AS effectuated,
        CAST(sum(coalesce(cancelled, 0)) OVER w AS BIGINT) AS cancelled
    FROM wide
    WINDOW w AS (ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),

final AS (
    SELECT * FROM running
)

SELECT * FROM final ORDER BY date
