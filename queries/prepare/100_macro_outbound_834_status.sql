-- name: macro_outbound_834_status
-- Table macro outbound_834_status(as_of_t): one row per outbound 834 sent by as_of_t (test
-- records included, marked), with its five error checks as of as_of_t and whether it is errored.
-- Duplicates are decided over all outbound 834s, before any filter (metrics.md).
-- params: none
CREATE OR REPLACE MACRO outbound_834_status(as_of_t) AS TABLE
WITH sent AS (
    SELECT
        *,
        -- a code without a time, or a time after as_of_t, is no acknowledgement
        (ack_code IS NOT NULL AND ack_at IS NOT NULL AND ack_at <= as_of_t) AS is_acknowledged
    FROM transactions_834
    WHERE direction = 'outbound' AND sent_at <= as_of_t
),

checked AS (
    SELECT
        transaction_id, enrollment_id, issuer_id, issuer_state, maintenance_type, sent_at, is_test_record,
        is_acknowledged AND ack_code = 'R' AS is_rejected,
        NOT is_acknowledged AND sent_at <= as_of_t - INTERVAL 48 HOURS AS is_unacknowledged,
        -- an earlier outbound 021 for the enrollment, not rejected as of as_of_t (prepared per 834)
        coalesce(earlier_unrejected_until > as_of_t, false) AS is_duplicate,
        is_mismatch,
        is_unmatched
    FROM sent
),

final AS (
    SELECT
        *,
        (is_rejected OR is_unacknowledged OR is_duplicate OR is_mismatch OR is_unmatched) AS is_errored
    FROM checked
)

SELECT * FROM final
