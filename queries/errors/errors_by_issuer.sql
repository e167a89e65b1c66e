-- name: errors_by_issuer
-- One row per issuer with counted outbound 834s sent as of $as_of (issuer_id order): sent,
-- errored and each category's count.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH counted AS (
    SELECT *
    FROM counted_outbound_834($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[])
),

per_issuer AS (
    SELECT issuer_id, error_counts(true, c) AS counts
    FROM counted AS c
    GROUP BY issuer_id
),

final AS (
    SELECT issuer_id, COLUMNS(counts.*) FROM per_issuer
)

SELECT * FROM final ORDER BY issuer_id
