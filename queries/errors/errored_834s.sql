-- name: errored_834s
-- One row per counted outbound 834 that is errored as of $as_of (sent_at, transaction_id
-- order): its ids, issuer, sending time and which of the five checks it fails.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH counted AS (
    SELECT *
    FROM counted_outbound_834($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[])
),

final AS (
    SELECT
        transaction_id, enrollment_id, issuer_id, maintenance_type, sent_at,
        is_rejected, is_unacknowledged, is_duplicate, is_mismatch, is_unmatched
    FROM counted
    WHERE is_errored
)

SELECT * FROM final ORDER BY sent_at, transaction_id
