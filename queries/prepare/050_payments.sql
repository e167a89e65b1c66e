-- name: prepare_payments
-- One row per binder-payment attempt, marked when it belongs to a test record, with its
-- enrollment's state and issuer (enrollment_state, enrollment_issuer_id; null when no enrollments
-- row has its id): what the redirect-failure rate filters by (signals.md), read here once.
-- params: none
CREATE OR REPLACE TABLE payments AS
WITH staged AS (
    SELECT * FROM stg_payments
),

test_enrollment AS (
    SELECT enrollment_id FROM enrollments WHERE is_test
),

enrollment AS (
    -- one row per id (a duplicated id is an error the engine names; any of its rows will do here)
    SELECT enrollment_id, any_value(state) AS state, any_value(issuer_id) AS issuer_id
    FROM enrollments
    GROUP BY enrollment_id
),

final AS (
    SELECT
        p.*,
        p.enrollment_id IN (SELECT enrollment_id FROM test_enrollment) AS is_test_record,
        e.enrollment_id IS NOT NULL AS enrollment_known,
        e.state AS enrollment_state,
        e.issuer_id AS enrollment_issuer_id
    FROM staged AS p
    LEFT JOIN enrollment AS e ON e.enrollment_id = p.enrollment_id
)

SELECT * FROM final
