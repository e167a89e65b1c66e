-- name: prepare_transactions_834
-- One row per 834 as exported, with the facts about it that do not depend on the as-of time:
-- its issuer's state, whether it belongs to a test record, and the mismatch / unmatched checks.
-- For an outbound 021 with an enrollment id, earlier_unrejected_until: the latest time at which an
-- earlier outbound 021 for the same enrollment (earlier sent_at, on a tie smaller transaction_id)
-- is still not rejected ('infinity' when one is never rejected; null when there is none). The 834
-- is a duplicate as of T exactly when earlier_unrejected_until > T, so no query needs a window.
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
        e.enrollment_id IS NULL AS is_unmatched,
        CASE WHEN t.direction = 'outbound' AND t.maintenance_type = '021' AND t.enrollment_id IS NOT NULL THEN
            max(CASE WHEN t.ack_code = 'R' AND t.ack_at IS NOT NULL THEN t.ack_at
                     ELSE 'infinity'::TIMESTAMP END)
                FILTER (WHERE t.direction = 'outbound' AND t.maintenance_type = '021')
                OVER (PARTITION BY t.enrollment_id ORDER BY t.sent_at, t.transaction_id
                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
        END AS earlier_unrejected_until
    FROM staged AS t
    LEFT JOIN enrollment AS e ON e.enrollment_id = t.enrollment_id
    LEFT JOIN issuer AS i ON i.issuer_id = t.issuer_id
)

-- Stored in filter order: a state or issuer filter then reads only the blocks that hold its 834s.
SELECT * FROM final ORDER BY issuer_state, issuer_id, sent_at
