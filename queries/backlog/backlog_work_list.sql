-- name: backlog_work_list
-- One row per cohort enrollment in the backlog as of $as_of at one of $stages (null = all), oldest
-- first, at most $limit rows: ids, issuer, state, stage, waiting since, age in days, binder-payment
-- due date and its deadline status (past_due / at_risk / null as metrics.md defines them).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[], $stages varchar[], $deadline varchar, $limit integer
WITH item AS (
    SELECT *
    FROM backlog_items($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                       $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE $stages::VARCHAR[] IS NULL OR list_contains($stages::VARCHAR[], stage)
),

final AS (
    SELECT
        enrollment_id, issuer_id, state, stage, waiting_since, age_days, age_bucket, payment_due_date,
        CASE
            WHEN stage = 'awaiting_effectuation' THEN NULL
            WHEN payment_due_date < CAST($as_of::TIMESTAMP AS DATE) THEN 'past_due'
            WHEN payment_due_date <= CAST($as_of::TIMESTAMP AS DATE) + 7 THEN 'at_risk'
        END AS deadline
    FROM item
)

SELECT * FROM final
WHERE $deadline::VARCHAR IS NULL OR deadline = $deadline::VARCHAR
ORDER BY waiting_since, enrollment_id
LIMIT $limit
