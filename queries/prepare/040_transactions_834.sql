-- name: prepare_transactions_834
-- One row per 834 as exported, with the facts about it that do not depend on the as-of time:
-- its issuer's state, whether it belongs to a test record, and the mismatch / unmatched checks.
-- params: none
CREATE OR REPLACE TABLE transactions_834 AS
WITH staged AS (
    SELECT * FROM stg_transactions_834
),

enrollment AS (
    SELECT
        enrollment_id, issuer_id, plan_id, coverage_start_date, total_premium_cents,
        aptc_amount_cents, member_count, subscriber_birth_date, is_test, cancelled_at
    FROM enrollments
),

issuer AS (
    SELECT issuer_id, state FROM issuers
),

final AS (
    SELECT
        t.*,
        i.state AS issuer_state,
        coalesce(e.is_test, false) AS is_test_record,
        e.enrollment_id IS NOT NULL AS is_enrollment_known,
        e.issuer_id AS enrollment_issuer_id,
        e.cancelled_at AS enrollment_cancelled_at,
        -- Every enrollments row is known whatever the as-of time, with its columns as exported.
        (
            t.maintenance_type IN ('021', '001')
            AND e.enrollment_id IS NOT NULL
            AND (
                t.issuer_id IS DISTINCT FROM e.issuer_id
                OR t.plan_id IS DISTINCT FROM e.plan_id
                OR t.coverage_start_date IS DISTINCT FROM e.coverage_start_date
                OR t.total_premium_cents IS DISTINCT FROM e.total_premium_cents
                OR t.aptc_amount_cents IS DISTINCT FROM e.aptc_amount_cents
                OR t.member_count IS DISTINCT FROM e.member_count
                OR t.subscriber_birth_date IS DISTINCT FROM e.subscriber_birth_date
            )
        ) AS is_mismatch,
        e.enrollment_id IS NULL AS is_unmatched
    FROM staged AS t
    LEFT JOIN enrollment AS e ON e.enrollment_id = t.enrollment_id
    LEFT JOIN issuer AS i ON i.issuer_id = t.issuer_id
)

SELECT * FROM final
