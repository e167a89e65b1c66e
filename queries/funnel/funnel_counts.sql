-- name: funnel_counts
-- One row per breakdown group (the total, each issuer, each state): cohort enrollments that
-- reached each funnel stage as of $as_of, and how many of them are cancelled.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH cohort AS (
    SELECT *
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[])
),

grouped AS (
    SELECT
        CASE
            WHEN grouping(issuer_id) = 0 THEN 'issuer'
            WHEN grouping(state) = 0 THEN 'state'
            ELSE 'total'
        END AS dimension,
        CASE
            WHEN grouping(issuer_id) = 0 THEN issuer_id
            WHEN grouping(state) = 0 THEN state
        END AS group_key,
        count(entered_applied) AS applied,
        count(entered_plan_selected) AS plan_selected,
        count(entered_sent_834) AS sent_834,
        count(entered_accepted_834) AS accepted_834,
        count(entered_reached_payment) AS reached_payment,
        count(entered_paid) AS paid,
        count(entered_effectuated) AS effectuated,
        count(*) FILTER (WHERE is_cancelled) AS cancelled
    FROM cohort
    GROUP BY GROUPING SETS ((), (issuer_id), (state))
),

final AS (
    SELECT * FROM grouped
    -- the total row exists even for an empty cohort; groups only when they have enrollments
    WHERE dimension = 'total' OR applied > 0
)

SELECT * FROM final ORDER BY dimension, group_key
