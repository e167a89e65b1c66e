-- name: errors_summary
-- One row: counted outbound 834s sent as of $as_of, how many are errored, and the count of each
-- of the five error categories (one 834 may be in several).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH counted AS (
    SELECT *
    FROM counted_outbound_834($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[])
),

total AS (
    SELECT error_counts(true, c) AS counts
    FROM counted AS c
),

final AS (
    SELECT COLUMNS(counts.*) FROM total
)

SELECT * FROM final
