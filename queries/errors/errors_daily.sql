-- name: errors_daily
-- One row per UTC day from the first to the last day with a counted outbound 834 (days with none
-- included, with zeros): sent, errored and each category's count that day.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH counted AS (
    SELECT *, CAST(sent_at AS DATE) AS sent_day
    FROM counted_outbound_834($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[])
),

per_day AS (
    SELECT
        sent_day,
        count(*) AS sent,
        count(*) FILTER (WHERE is_errored) AS errored,
        count(*) FILTER (WHERE is_rejected) AS rejected,
        count(*) FILTER (WHERE is_unacknowledged) AS unacknowledged,
        count(*) FILTER (WHERE is_duplicate) AS duplicate,
        count(*) FILTER (WHERE is_mismatch) AS mismatch,
        count(*) FILTER (WHERE is_unmatched) AS unmatched
    FROM counted
    GROUP BY sent_day
),

day AS (
    SELECT CAST(generate_series AS DATE) AS sent_day
    FROM generate_series(
        (SELECT CAST(min(sent_day) AS TIMESTAMP) FROM per_day),
        (SELECT CAST(max(sent_day) AS TIMESTAMP) FROM per_day),
        INTERVAL 1 DAY
    )
),

final AS (
    SELECT
        d.sent_day AS date,
        coalesce(p.sent, 0) AS sent,
        coalesce(p.errored, 0) AS errored,
        coalesce(p.rejected, 0) AS rejected,
        coalesce(p.unacknowledged, 0) AS unacknowledged,
        coalesce(p.duplicate, 0) AS duplicate,
        coalesce(p.mismatch, 0) AS mismatch,
        coalesce(p.unmatched, 0) AS unmatched
    FROM day AS d
    LEFT JOIN per_day AS p ON p.sent_day = d.sent_day
)

SELECT * FROM final ORDER BY date
