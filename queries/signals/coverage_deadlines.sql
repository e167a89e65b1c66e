-- name: coverage_deadlines
-- One row per coverage_start_date among the cohort's enrollments with a plan selected as of $as_of
-- and not cancelled as of $as_of (coverage_start_date order; none without a date): selected, paid
-- (funnel stage paid, which a responsible amount of 0 reaches with the accepted 834), effectuated,
-- and paid_recently (entered paid in ($as_of - 7 days, $as_of], for the pace). signals.md
-- "Coverage deadlines".
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH enrollment AS (
    SELECT *
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP, $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE entered_plan_selected IS NOT NULL
      AND NOT is_cancelled
      AND coverage_start_date IS NOT NULL
),

final AS (
    SELECT
        coverage_start_date AS coverage_start,
        count(*) AS selected,
        count(entered_paid) AS paid,
        count(entered_effectuated) AS effectuated,
        count(*) FILTER (WHERE entered_paid > $as_of::TIMESTAMP - INTERVAL 7 DAYS) AS paid_recently
    FROM enrollment
    GROUP BY coverage_start_date
)

SELECT * FROM final ORDER BY coverage_start
