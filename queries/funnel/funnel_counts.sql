-- name: funnel_counts
-- One row per breakdown group (the total, each issuer, each state): cohort enrollments that
-- reached each funnel stage as of $as_of, and how many of them are cancelled. A stage is reached
-- as of T exactly when T >= its reached-by time (enrollment_milestones), so the counts need no
-- per-enrollment steps; they are counted once per (issuer, state) and then added up per group.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH cohort AS (
    SELECT *
    FROM milestone_cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                          $states::VARCHAR[], $issuers::VARCHAR[])
),

by_pair AS (
    SELECT
        issuer_id, state,
        count(*) AS applied,
        count(*) FILTER (WHERE reached_plan_selected_by <= $as_of::TIMESTAMP) AS plan_selected,
        count(*) FILTER (WHERE reached_sent_834_by <= $as_of::TIMESTAMP) AS sent_834,
        count(*) FILTER (WHERE reached_accepted_834_by <= $as_of::TIMESTAMP) AS accepted_834,
        count(*) FILTER (WHERE reached_reached_payment_by <= $as_of::TIMESTAMP) AS reached_payment,
        count(*) FILTER (WHERE reached_paid_by <= $as_of::TIMESTAMP) AS paid,
        count(*) FILTER (WHERE reached_effectuated_by <= $as_of::TIMESTAMP) AS effectuated,
        count(*) FILTER (WHERE cancelled_at <= $as_of::TIMESTAMP) AS cancelled
    FROM cohort
    GROUP BY issuer_id, state
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
        coalesce(sum(applied), 0)::BIGINT AS applied,
        coalesce(sum(plan_selected), 0)::BIGINT AS plan_selected,
        coalesce(sum(sent_834), 0)::BIGINT AS sent_834,
        coalesce(sum(accepted_834), 0)::BIGINT AS accepted_834,
        coalesce(sum(reached_payment), 0)::BIGINT AS reached_payment,
        coalesce(sum(paid), 0)::BIGINT AS paid,
        coalesce(sum(effectuated), 0)::BIGINT AS effectuated,
        coalesce(sum(cancelled), 0)::BIGINT AS cancelled
    FROM by_pair
    GROUP BY GROUPING SETS ((), (issuer_id), (state))
),

final AS (
    SELECT * FROM grouped
    -- the total row exists even for an empty cohort; groups only when they have enrollments
    WHERE dimension = 'total' OR applied > 0
)

SELECT * FROM final ORDER BY dimension, group_key
