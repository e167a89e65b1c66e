-- name: errors_by_issuer
-- One row per issuer with counted outbound 834s sent as of $as_of (issuer_id order): sent,
-- errored and each category's count.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH counted AS (
    SELECT *
    FROM counted_outbound_834($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[])
),

final AS (
    SELECT
        issuer_id,
        count(*) AS sent,
        count(*) FILTER (WHERE is_errored) AS errored,
        count(*) FILTER (WHERE is_rejected) AS rejected,
        count(*) FILTER (WHERE is_unacknowledged) AS unacknowledged,
        count(*) FILTER (WHERE is_duplicate) AS duplicate,
        count(*) FILTER (WHERE is_mismatch) AS mismatch,
        count(*) FILTER (WHERE is_unmatched) AS unmatched
    FROM counted
    GROUP BY issuer_id
)

SELECT * FROM final ORDER BY issuer_id
