-- name: table_freshness
-- One row per export table: its rows and the latest of its event timestamps not later than $now
-- (how fresh the export is).
-- params: $now timestamp
WITH final AS (
    SELECT 'enrollments' AS table_name, count(*) AS row_count,
           max(greatest(application_submitted_at, coalesce(plan_selected_at, application_submitted_at),
                        coalesce(cancelled_at, application_submitted_at)))
               FILTER (WHERE greatest(application_submitted_at, coalesce(plan_selected_at, application_submitted_at),
                                      coalesce(cancelled_at, application_submitted_at)) <= $now::TIMESTAMP) AS latest_event_at
    FROM enrollments
    UNION ALL
    SELECT 'transactions_834', count(*),
           max(greatest(sent_at, coalesce(ack_at, sent_at)))
               FILTER (WHERE greatest(sent_at, coalesce(ack_at, sent_at)) <= $now::TIMESTAMP)
    FROM transactions_834
    UNION ALL
    SELECT 'payments', count(*),
           max(coalesce(greatest(redirected_at, paid_at), redirected_at, paid_at))
               FILTER (WHERE coalesce(greatest(redirected_at, paid_at), redirected_at, paid_at) <= $now::TIMESTAMP)
    FROM payments
)

SELECT * FROM final
