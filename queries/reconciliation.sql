-- name: reconciliation
-- One row per issuer (issuer_id order) with at least one counted enrollment or issuer-only 834:
-- cohort enrollments with a plan selected and not cancelled as of $as_of, split by whether the
-- issuer's earliest effectuation 834 matches them (matched / field_mismatch) or is missing
-- (exchange_only); and the issuer's inbound 834s the exchange cannot place (issuer_only).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH held AS (
    SELECT e.enrollment_id, e.issuer_id, x.plan_id, x.coverage_start_date, x.aptc_amount_cents
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[]) AS e
    JOIN enrollments AS x ON x.enrollment_id = e.enrollment_id
    WHERE e.entered_plan_selected IS NOT NULL AND NOT e.is_cancelled
),

effectuation AS (
    -- whatever the funnel order: the issuer's earliest effectuation sent by $as_of
    SELECT enrollment_id, plan_id, coverage_start_date, aptc_amount_cents
    FROM transactions_834
    WHERE direction = 'inbound'
      AND maintenance_type = '021'
      AND maintenance_reason = '28'
      AND sent_at <= $as_of::TIMESTAMP
      AND is_enrollment_known
      AND issuer_id = enrollment_issuer_id
    QUALIFY row_number() OVER (PARTITION BY enrollment_id ORDER BY sent_at, transaction_id) = 1
),

classified AS (
    SELECT
        h.issuer_id,
        CASE
            WHEN f.enrollment_id IS NULL THEN 'exchange_only'
            WHEN h.plan_id IS NOT DISTINCT FROM f.plan_id
             AND h.coverage_start_date IS NOT DISTINCT FROM f.coverage_start_date
             AND h.aptc_amount_cents IS NOT DISTINCT FROM f.aptc_amount_cents THEN 'matched'
            ELSE 'field_mismatch'
        END AS status
    FROM held AS h
    LEFT JOIN effectuation AS f ON f.enrollment_id = h.enrollment_id
),

exchange_side AS (
    SELECT
        issuer_id,
        count(*) FILTER (WHERE status = 'matched') AS matched,
        count(*) FILTER (WHERE status = 'field_mismatch') AS field_mismatch,
        count(*) FILTER (WHERE status = 'exchange_only') AS exchange_only
    FROM classified
    GROUP BY issuer_id
),

issuer_side AS (
    -- the date window does not apply; the filters apply by the 834's own issuer
    SELECT issuer_id, count(*) AS issuer_only
    FROM transactions_834
    WHERE direction = 'inbound'
      AND sent_at <= $as_of::TIMESTAMP
      AND NOT is_test_record
      -- another issuer's known enrollment is never issuer-only, cancelled or not (metrics.md)
      AND (enrollment_id IS NULL OR NOT is_enrollment_known
           OR (enrollment_issuer_id = issuer_id AND enrollment_cancelled_at < sent_at))
      AND ($states::VARCHAR[] IS NULL OR coalesce(list_contains($states::VARCHAR[], issuer_state), false))
      AND ($issuers::VARCHAR[] IS NULL OR list_contains($issuers::VARCHAR[], issuer_id))
    GROUP BY issuer_id
),

final AS (
    SELECT
        coalesce(x.issuer_id, i.issuer_id) AS issuer_id,
        coalesce(x.matched, 0) AS matched,
        coalesce(x.field_mismatch, 0) AS field_mismatch,
        coalesce(x.exchange_only, 0) AS exchange_only,
        coalesce(i.issuer_only, 0) AS issuer_only
    FROM exchange_side AS x
    FULL OUTER JOIN issuer_side AS i ON i.issuer_id = x.issuer_id
)

SELECT * FROM final ORDER BY issuer_id
