-- name: reconciliation_work_list
-- The records behind one reconciliation count ($category: matched, field_mismatch, exchange_only
-- or issuer_only) as of $as_of, at most $limit rows: for the first three, the enrollments (ids,
-- issuer, state, which fields differ, each compared field's value on the exchange's side and in
-- the issuer's effectuation 834, when the exchange's 834 was sent and accepted, and the days
-- waiting since it was sent, or since the plan was selected when none is); for issuer_only, the
-- issuer's unplaceable 834s with the values they carry.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[], $category varchar, $limit integer
WITH record AS (
    SELECT *
    FROM reconciliation_records($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                                $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE category = $category::VARCHAR
),

final AS (
    SELECT
        r.record_id, r.issuer_id, r.state, r.category, r.differing_fields,
        e.plan_id AS exchange_plan_id, t.plan_id AS issuer_plan_id,
        e.coverage_start_date AS exchange_coverage_start, t.coverage_start_date AS issuer_coverage_start,
        e.aptc_amount_cents / 100 AS exchange_aptc_amount, t.aptc_amount_cents / 100 AS issuer_aptc_amount,
        r.sent_834_at, r.accepted_834_at,
        CASE WHEN r.category = 'exchange_only' THEN coalesce(r.sent_834_at, r.plan_selected_at) END AS waiting_since,
        CASE WHEN r.category = 'exchange_only'
             THEN date_diff('second', coalesce(r.sent_834_at, r.plan_selected_at), $as_of::TIMESTAMP) / 86400.0
        END AS days_waiting,
        r.transaction_id, r.sent_at
    FROM record AS r
    -- the exchange's side: the enrollment itself (issuer-only records have none)
    LEFT JOIN enrollments AS e ON r.category <> 'issuer_only' AND e.enrollment_id = r.record_id
    -- the issuer's side: its effectuation 834 (field_mismatch, matched) or its unplaceable 834
    LEFT JOIN transactions_834 AS t ON t.transaction_id = r.transaction_id
)

SELECT * FROM final ORDER BY issuer_id, record_id LIMIT $limit
