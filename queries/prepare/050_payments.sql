-- name: prepare_payments
-- One row per binder-payment attempt, marked when it belongs to a test record.
-- params: none
CREATE OR REPLACE TABLE payments AS
WITH staged AS (
    SELECT * FROM stg_payments
),

test_enrollment AS (
    SELECT enrollment_id FROM enrollments WHERE is_test
),

final AS (
    SELECT
        p.*,
        p.enrollment_id IN (SELECT enrollment_id FROM test_enrollment) AS is_test_record
    FROM staged AS p
)

SELECT * FROM final
