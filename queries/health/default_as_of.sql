-- name: default_as_of
-- One row: the latest of the seven event timestamps over all rows (test rows included) that is
-- not later than $now (later ones are corrupt and reported on the data-health page).
-- params: $now timestamp
WITH event_time AS (
    SELECT application_submitted_at AS event_at FROM enrollments
    UNION ALL SELECT plan_selected_at FROM enrollments
    UNION ALL SELECT cancelled_at FROM enrollments
    UNION ALL SELECT sent_at FROM transactions_834
    UNION ALL SELECT ack_at FROM transactions_834
    UNION ALL SELECT redirected_at FROM payments
    UNION ALL SELECT paid_at FROM payments
),

final AS (
    SELECT max(event_at) AS as_of FROM event_time WHERE event_at <= $now::TIMESTAMP
)

SELECT * FROM final
