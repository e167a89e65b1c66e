-- name: payment_deadline_risk
-- One row: backlog enrollments before awaiting_effectuation whose binder payment is due within
-- the next 7 days of $as_of's day (at_risk) or was due before it (past_due).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH item AS (
    SELECT *
    FROM backlog_items($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                       $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE stage <> 'awaiting_effectuation'
),

final AS (
    SELECT
        count(*) FILTER (WHERE payment_due_date >= CAST($as_of::TIMESTAMP AS DATE)
                 AND payment_due_date <= CAST($as_of::TIMESTAMP AS DATE) + 7) AS at_risk,
        count(*) FILTER (WHERE payment_due_date < CAST($as_of::TIMESTAMP AS DATE)) AS past_due
    FROM item
)

SELECT * FROM final
