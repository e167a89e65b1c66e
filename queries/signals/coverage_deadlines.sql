-- name: coverage_deadlines
-- One row per coverage_start_date among the cohort's enrollments with a plan selected as of $as_of
-- and not cancelled as of $as_of (coverage_start_date order; none without a date): selected, paid
-- (funnel stage paid, which a responsible amount of 0 reaches with the accepted 834), effectuated,
-- and paid_recently (entered paid in ($as_of - 7 days, $as_of], for the pace). signals.md
-- "Coverage deadlines". Read from the reached-by times of enrollment_milestones (reached a stage
-- as of $as_of exactly when reached_<stage>_by <= $as_of); the time entered paid, for the pace, is
-- computed only for the enrollments that reached paid in the last 7 days (it is never later than
-- reached_paid_by).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH enrollment AS (
    SELECT *
    FROM milestone_cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                          $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE reached_plan_selected_by <= $as_of::TIMESTAMP
      AND NOT coalesce(cancelled_at <= $as_of::TIMESTAMP, false)
      AND coverage_start_date IS NOT NULL
),

final AS (
    SELECT
        coverage_start_date AS coverage_start,
        count(*) AS selected,
        count(*) FILTER (WHERE reached_paid_by <= $as_of::TIMESTAMP) AS paid,
        count(*) FILTER (WHERE reached_effectuated_by <= $as_of::TIMESTAMP) AS effectuated,
        -- a CASE, so that the time entered paid is computed for those rows only
        count(
            CASE
                WHEN reached_paid_by <= $as_of::TIMESTAMP
                     AND reached_paid_by > $as_of::TIMESTAMP - INTERVAL 7 DAYS
                     AND paid_entered_as_of(
                         accepted_834_entered_as_of($as_of::TIMESTAMP, reached_sent_834_by, accepted_last_known,
                                                    accepted_min_value, accepted_events),
                         first_reached_payment, first_paid, responsible_cents
                     ) > $as_of::TIMESTAMP - INTERVAL 7 DAYS
                THEN 1
            END
        ) AS paid_recently
    FROM enrollment
    GROUP BY coverage_start_date
)

SELECT * FROM final ORDER BY coverage_start
