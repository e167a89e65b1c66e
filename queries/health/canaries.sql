-- name: canaries
-- One row per test (canary) enrollment in the state / issuer filters submitted by $as_of,
-- cancelled or not, in enrollment_id order: the furthest funnel stage it reached as of $as_of,
-- when it entered it, and whether it is stuck (not effectuated, in that stage over 48 hours).
-- params: $as_of timestamp, $states varchar[], $issuers varchar[]
WITH canary AS (
    SELECT *
    FROM enrollment_stages($as_of::TIMESTAMP)
    WHERE is_test
      AND ($states::VARCHAR[] IS NULL OR list_contains($states::VARCHAR[], state))
      AND ($issuers::VARCHAR[] IS NULL OR list_contains($issuers::VARCHAR[], issuer_id))
),

furthest AS (
    SELECT
        *,
        CASE
            WHEN entered_effectuated IS NOT NULL THEN 'effectuated'
            WHEN entered_paid IS NOT NULL THEN 'paid'
            WHEN entered_reached_payment IS NOT NULL THEN 'reached_payment'
            WHEN entered_accepted_834 IS NOT NULL THEN 'accepted_834'
            WHEN entered_sent_834 IS NOT NULL THEN 'sent_834'
            WHEN entered_plan_selected IS NOT NULL THEN 'plan_selected'
            ELSE 'applied'
        END AS stage,
        coalesce(entered_effectuated, entered_paid, entered_reached_payment, entered_accepted_834,
                 entered_sent_834, entered_plan_selected, entered_applied) AS entered_at
    FROM canary
),

final AS (
    SELECT
        enrollment_id,
        issuer_id,
        state,
        stage,
        entered_at,
        is_cancelled AS cancelled,
        entered_effectuated IS NULL AND $as_of::TIMESTAMP - entered_at > INTERVAL 48 HOURS AS stuck
    FROM furthest
)

SELECT * FROM final ORDER BY enrollment_id
