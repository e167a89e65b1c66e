-- name: never_sent
-- One row: cohort enrollments not cancelled as of $as_of with a plan selected at least 24 hours
-- before it (eligible), and those of them with no outbound 021 to their issuer sent by $as_of.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH eligible AS (
    SELECT *
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[])
    WHERE NOT is_cancelled
      AND plan_selected_at <= $as_of::TIMESTAMP - INTERVAL 24 HOURS
),

final AS (
    SELECT
        count(*) FILTER (WHERE NOT has_initial_834_to_issuer) AS never_sent,
        count(*) AS eligible
    FROM eligible
)

SELECT * FROM final
