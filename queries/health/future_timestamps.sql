-- name: future_timestamps
-- One row per (table, column) of the seven event timestamps holding values later than $now:
-- how many rows, and the latest such value.
-- params: $now timestamp
WITH event_time AS (
    SELECT 'enrollments' AS table_name, 'application_submitted_at' AS column_name, application_submitted_at AS event_at FROM enrollments
    UNION ALL SELECT 'enrollments', 'plan_selected_at', plan_selected_at FROM enrollments
    UNION ALL SELECT 'enrollments', 'cancelled_at', cancelled_at FROM enrollments
    UNION ALL SELECT 'transactions_834', 'sent_at', sent_at FROM transactions_834
    UNION ALL SELECT 'transactions_834', 'ack_at', ack_at FROM transactions_834
    UNION ALL SELECT 'payments', 'redirected_at', redirected_at FROM payments
    UNION ALL SELECT 'payments', 'paid_at', paid_at FROM payments
),

final AS (
    SELECT table_name, column_name, count(*) AS row_count, max(event_at) AS latest
    FROM event_time
    WHERE event_at > $now::TIMESTAMP
    GROUP BY ALL
)

SELECT * FROM final ORDER BY table_name, column_name
