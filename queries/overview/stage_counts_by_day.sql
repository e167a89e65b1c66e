-- name: stage_counts_by_day
-- One row per UTC day from the cohort's first application day to $as_of's day: cohort enrollments
-- that had reached each funnel stage, and that were cancelled, as of the end of that day (as of
-- $as_of on its own day); one pass over each enrollment's reached-by times. Feeds sparklines and
-- week-over-week / day-over-day changes of the funnel counts.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH cohort AS (
    SELECT *
    FROM milestone_cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                          $states::VARCHAR[], $issuers::VARCHAR[])
),

reached AS (
    UNPIVOT (
        SELECT enrollment_id, reached_applied_by AS applied, reached_plan_selected_by AS plan_selected,
               reached_sent_834_by AS sent_834, reached_accepted_834_by AS accepted_834,
               reached_reached_payment_by AS reached_payment, reached_paid_by AS paid,
               reached_effectuated_by AS effectuated, cancelled_at AS cancelled
        FROM cohort
    )
    ON applied, plan_selected, sent_834, accepted_834, reached_payment, paid, effectuated, cancelled
    INTO NAME stage VALUE reached_at
),

per_day AS (
    SELECT CAST(reached_at AS DATE) AS day, stage, count(*) AS n
    FROM reached
    WHERE reached_at <= $as_of::TIMESTAMP
    GROUP BY ALL
),

day AS (
    SELECT CAST(generate_series AS DATE) AS day
    FROM generate_series(
        (SELECT CAST(CAST(min(application_submitted_at) AS DATE) AS TIMESTAMP) FROM cohort),
        CAST(CAST($as_of::TIMESTAMP AS DATE) AS TIMESTAMP),
        INTERVAL 1 DAY
    )
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

final AS (
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
)

SELECT * FROM final ORDER BY date
