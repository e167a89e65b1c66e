-- name: reconciliation
-- One row per issuer (issuer_id order) with at least one counted enrollment or issuer-only 834:
-- cohort enrollments with a plan selected and not cancelled as of $as_of, split by whether the
-- issuer's earliest effectuation 834 matches them (matched / field_mismatch) or is missing
-- (exchange_only); and the issuer's inbound 834s the exchange cannot place (issuer_only).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH record AS (
    SELECT *
    FROM reconciliation_records($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                                $states::VARCHAR[], $issuers::VARCHAR[])
),

final AS (
    SELECT
        issuer_id,
        count(*) FILTER (WHERE category = 'matched') AS matched,
        count(*) FILTER (WHERE category = 'field_mismatch') AS field_mismatch,
        count(*) FILTER (WHERE category = 'exchange_only') AS exchange_only,
        count(*) FILTER (WHERE category = 'issuer_only') AS issuer_only
    FROM record
    GROUP BY issuer_id
)

SELECT * FROM final ORDER BY issuer_id
