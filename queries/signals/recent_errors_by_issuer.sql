-- name: recent_errors_by_issuer
-- One row per issuer with counted outbound 834s sent in ($as_of - $window_days days, $as_of]
-- (issuer_id order): sent, errored and each category's count as of $as_of. The date window does
-- not apply (signals.md "Current rates", "Issuer comparison").
-- params: $as_of timestamp, $window_days integer, $states varchar[], $issuers varchar[]
WITH counted AS (
    SELECT *
    FROM counted_outbound_834($as_of::TIMESTAMP, NULL, NULL, $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE sent_at > $as_of::TIMESTAMP - to_days(CAST($window_days AS INTEGER))
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
