-- name: macro_reconciliation_records
-- Table macro reconciliation_records(as_of_t, date_from, date_to, states, issuers): one row per
-- record behind a reconciliation count as of as_of_t. Cohort enrollments with a plan selected and
-- not cancelled, classified by the issuer's earliest effectuation 834 (matched, field_mismatch,
-- exchange_only, with the fields that differ); and the issuer's inbound 834s the exchange cannot
-- place (issuer_only; filters by the 834's own issuer, no date window). For the enrollments, when
-- the exchange's 834 was sent and accepted as of as_of_t (plan_selected_at for when neither is).
-- params: none
CREATE OR REPLACE MACRO reconciliation_records(as_of_t, date_from, date_to, states, issuers) AS TABLE
WITH held AS (
    SELECT enrollment_id AS record_id, issuer_id, state, eff_transaction_id, eff_sent_at, eff_differing_fields,
           entered_plan_selected, entered_sent_834, entered_accepted_834,
           coalesce(eff_sent_at <= as_of_t, false) AS is_effectuated
    FROM cohort(as_of_t, date_from, date_to, states, issuers)
    WHERE entered_plan_selected IS NOT NULL AND NOT is_cancelled
),

exchange_side AS (
    -- whatever the funnel order: the issuer's earliest effectuation, when it is sent by as_of_t
    -- (prepared per enrollment in enrollment_milestones, with the fields in which it differs)
    SELECT
        record_id, issuer_id, state,
        CASE WHEN is_effectuated THEN eff_transaction_id END AS transaction_id,
        CASE WHEN is_effectuated THEN eff_sent_at END AS sent_at,
        CASE
            WHEN NOT is_effectuated THEN 'exchange_only'
            WHEN eff_differing_fields = '' THEN 'matched'
            ELSE 'field_mismatch'
        END AS category,
        CASE WHEN is_effectuated THEN eff_differing_fields ELSE '' END AS differing_fields,
        entered_plan_selected AS plan_selected_at, entered_sent_834 AS sent_834_at,
        entered_accepted_834 AS accepted_834_at
    FROM held
),

issuer_side AS (
    SELECT
        coalesce(enrollment_id, '(none)') AS record_id, issuer_id, issuer_state AS state, transaction_id, sent_at,
        'issuer_only' AS category, '' AS differing_fields,
        NULL::TIMESTAMP AS plan_selected_at, NULL::TIMESTAMP AS sent_834_at, NULL::TIMESTAMP AS accepted_834_at
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
