-- name: reconciliation_work_list
-- The records behind one reconciliation count ($category: matched, field_mismatch, exchange_only
-- or issuer_only) as of $as_of, at most $limit rows: for the first three, the enrollments (ids,
-- issuer, state, which fields differ); for issuer_only, the issuer's unplaceable 834s.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[], $category varchar, $limit integer
WITH held AS (
    SELECT e.enrollment_id, e.issuer_id, e.state, x.plan_id, x.coverage_start_date, x.aptc_amount_cents
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[]) AS e
    JOIN enrollments AS x ON x.enrollment_id = e.enrollment_id
    WHERE e.entered_plan_selected IS NOT NULL AND NOT e.is_cancelled
),

effectuation AS (
    SELECT enrollment_id, transaction_id, sent_at, plan_id, coverage_start_date, aptc_amount_cents
    FROM transactions_834
    WHERE direction = 'inbound' AND maintenance_type = '021' AND maintenance_reason = '28'
      AND sent_at <= $as_of::TIMESTAMP AND is_enrollment_known AND issuer_id = enrollment_issuer_id
    QUALIFY row_number() OVER (PARTITION BY enrollment_id ORDER BY sent_at, transaction_id) = 1
),

classified AS (
    SELECT
        h.enrollment_id AS record_id, h.issuer_id, h.state, f.transaction_id, f.sent_at,
        CASE
            WHEN f.enrollment_id IS NULL THEN 'exchange_only'
            WHEN h.plan_id IS NOT DISTINCT FROM f.plan_id
             AND h.coverage_start_date IS NOT DISTINCT FROM f.coverage_start_date
             AND h.aptc_amount_cents IS NOT DISTINCT FROM f.aptc_amount_cents THEN 'matched'
            ELSE 'field_mismatch'
        END AS category,
        concat_ws(', ',
            CASE WHEN f.enrollment_id IS NOT NULL AND h.plan_id IS DISTINCT FROM f.plan_id THEN 'plan_id' END,
            CASE WHEN f.enrollment_id IS NOT NULL AND h.coverage_start_date IS DISTINCT FROM f.coverage_start_date
                 THEN 'coverage_start_date' END,
            CASE WHEN f.enrollment_id IS NOT NULL AND h.aptc_amount_cents IS DISTINCT FROM f.aptc_amount_cents
                 THEN 'aptc_amount' END) AS differing_fields
    FROM held AS h
    LEFT JOIN effectuation AS f ON f.enrollment_id = h.enrollment_id
),

issuer_only AS (
    SELECT
        coalesce(enrollment_id, '(none)') AS record_id, issuer_id, issuer_state AS state, transaction_id, sent_at,
        'issuer_only' AS category, '' AS differing_fields
    FROM transactions_834
    WHERE direction = 'inbound'
      AND sent_at <= $as_of::TIMESTAMP
      AND NOT is_test_record
      -- another issuer's known enrollment is never issuer-only, cancelled or not (metrics.md)
      AND (enrollment_id IS NULL OR NOT is_enrollment_known
           OR (enrollment_issuer_id = issuer_id AND enrollment_cancelled_at < sent_at))
      AND ($states::VARCHAR[] IS NULL OR coalesce(list_contains($states::VARCHAR[], issuer_state), false))
      AND ($issuers::VARCHAR[] IS NULL OR list_contains($issuers::VARCHAR[], issuer_id))
),

final AS (
    SELECT * FROM classified WHERE category = $category::VARCHAR
    UNION ALL
    SELECT * FROM issuer_only WHERE $category::VARCHAR = 'issuer_only'
)

SELECT record_id, issuer_id, state, category, differing_fields, transaction_id, sent_at
FROM final ORDER BY issuer_id, record_id LIMIT $limit
