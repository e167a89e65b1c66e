-- name: reconciliation_work_list
-- The records behind one reconciliation count ($category: matched, field_mismatch, exchange_only
-- or issuer_only) as of $as_of, at most $limit rows: for the first three, the enrollments (ids,
-- issuer, state, which fields differ); for issuer_only, the issuer's unplaceable 834s.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[], $category varchar, $limit integer
WITH record AS (
    SELECT *
    FROM reconciliation_records($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                                $states::VARCHAR[], $issuers::VARCHAR[])
),

final AS (
    SELECT record_id, issuer_id, state, category, differing_fields, transaction_id, sent_at
    FROM record
    WHERE category = $category::VARCHAR
)

SELECT * FROM final ORDER BY issuer_id, record_id LIMIT $limit
