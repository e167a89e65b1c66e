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

initial AS (
    SELECT
        transaction_id,
        coalesce(sum(CASE WHEN is_acknowledged AND ack_code = 'R' THEN 0 ELSE 1 END) OVER (
            PARTITION BY enrollment_id
            ORDER BY sent_at, transaction_id
            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
        ), 0) > 0 AS has_earlier_unrejected
    FROM sent
    WHERE maintenance_type = '021' AND enrollment_id IS NOT NULL
),

checked AS (
    SELECT
        s.transaction_id, s.enrollment_id, s.issuer_id, s.issuer_state, s.maintenance_type,
        s.sent_at, s.is_test_record,
        s.is_acknowledged AND s.ack_code = 'R' AS is_rejected,
        NOT s.is_acknowledged AND s.sent_at <= as_of_t - INTERVAL 48 HOURS AS is_unacknowledged,
        coalesce(i.has_earlier_unrejected, false) AS is_duplicate,
        s.is_mismatch,
        s.is_unmatched
    FROM sent AS s
    LEFT JOIN initial AS i ON i.transaction_id = s.transaction_id
),

final AS (
    SELECT
        *,
        (is_rejected OR is_unacknowledged OR is_duplicate OR is_mismatch OR is_unmatched) AS is_errored
    FROM checked
)

SELECT * FROM final
