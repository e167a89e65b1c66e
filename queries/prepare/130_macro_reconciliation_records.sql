-- name: macro_reconciliation_records
-- Table macro reconciliation_records(as_of_t, date_from, date_to, states, issuers): one row per
-- record behind a reconciliation count as of as_of_t. Cohort enrollments with a plan selected and
-- not cancelled, classified by the issuer's earliest effectuation 834 (matched, field_mismatch,
-- exchange_only, with the fields that differ); and the issuer's inbound 834s the exchange cannot
-- place (issuer_only; filters by the 834's own issuer, no date window).
-- params: none
CREATE OR REPLACE MACRO reconciliation_records(as_of_t, date_from, date_to, states, issuers) AS TABLE
WITH held AS (
    SELECT e.enrollment_id, e.issuer_id, e.state, x.plan_id, x.coverage_start_date, x.aptc_amount_cents
    FROM cohort(as_of_t, date_from, date_to, states, issuers) AS e
    JOIN enrollments AS x ON x.enrollment_id = e.enrollment_id
    WHERE e.entered_plan_selected IS NOT NULL AND NOT e.is_cancelled
),

effectuation AS (
    -- whatever the funnel order: the issuer's earliest effectuation sent by as_of_t
    SELECT enrollment_id, transaction_id, sent_at, plan_id, coverage_start_date, aptc_amount_cents
    FROM transactions_834
    WHERE direction = 'inbound' AND maintenance_type = '021' AND maintenance_reason = '28'
      AND sent_at <= as_of_t AND is_enrollment_known AND issuer_id = enrollment_issuer_id
    QUALIFY row_number() OVER (PARTITION BY enrollment_id ORDER BY sent_at, transaction_id) = 1
),

compared AS (
    SELECT
        h.enrollment_id AS record_id, h.issuer_id, h.state, f.transaction_id, f.sent_at,
        f.enrollment_id IS NOT NULL AS is_effectuated,
        concat_ws(', ',
            CASE WHEN h.plan_id IS DISTINCT FROM f.plan_id THEN 'plan_id' END,
            CASE WHEN h.coverage_start_date IS DISTINCT FROM f.coverage_start_date THEN 'coverage_start_date' END,
            CASE WHEN h.aptc_amount_cents IS DISTINCT FROM f.aptc_amount_cents THEN 'aptc_amount' END
        ) AS differing_fields
    FROM held AS h
    LEFT JOIN effectuation AS f ON f.enrollment_id = h.enrollment_id
),

exchange_side AS (
    SELECT
        record_id, issuer_id, state, transaction_id, sent_at,
        CASE
            WHEN NOT is_effectuated THEN 'exchange_only'
            WHEN differing_fields = '' THEN 'matched'
            ELSE 'field_mismatch'
        END AS category,
        CASE WHEN is_effectuated THEN differing_fields ELSE '' END AS differing_fields
    FROM compared
),

issuer_side AS (
    SELECT
        coalesce(enrollment_id, '(none)') AS record_id, issuer_id, issuer_state AS state, transaction_id, sent_at,
        'issuer_only' AS category, '' AS differing_fields
    FROM transactions_834
    WHERE direction = 'inbound'
      AND sent_at <= as_of_t
      AND NOT is_test_record
      -- another issuer's known enrollment is never issuer-only, cancelled or not (metrics.md)
      AND (enrollment_id IS NULL OR NOT is_enrollment_known
           OR (enrollment_issuer_id = issuer_id AND enrollment_cancelled_at < sent_at))
      AND (states IS NULL OR coalesce(list_contains(states, issuer_state), false))
      AND (issuers IS NULL OR list_contains(issuers, issuer_id))
)

SELECT * FROM exchange_side
UNION ALL
SELECT * FROM issuer_side
