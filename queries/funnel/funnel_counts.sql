-- name: funnel_counts
-- One row per breakdown group (the total, each issuer, each state): cohort enrollments that
-- reached each funnel stage as of $as_of, and how many of them are cancelled: the counts per
-- (issuer, state) of reached_by_pair, added up per group; and the group's earliest application and
-- plan selection by $as_of (where the day-end trends start).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH by_pair AS (
    SELECT *
    FROM reached_by_pair($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
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
        coalesce(sum(applied), 0)::BIGINT AS applied,
        coalesce(sum(plan_selected), 0)::BIGINT AS plan_selected,
        coalesce(sum(sent_834), 0)::BIGINT AS sent_834,
        coalesce(sum(accepted_834), 0)::BIGINT AS accepted_834,
        coalesce(sum(reached_payment), 0)::BIGINT AS reached_payment,
        coalesce(sum(paid), 0)::BIGINT AS paid,
        coalesce(sum(effectuated), 0)::BIGINT AS effectuated,
        coalesce(sum(cancelled), 0)::BIGINT AS cancelled,
        min(first_applied_at) AS first_applied_at,
        min(first_plan_selected_at) AS first_plan_selected_at
    FROM by_pair
    GROUP BY GROUPING SETS ((), (issuer_id), (state))
),

final AS (
    SELECT * FROM grouped
    -- the total row exists even for an empty cohort; groups only when they have enrollments
    WHERE dimension = 'total' OR applied > 0
)

SELECT * FROM final ORDER BY dimension, group_key
