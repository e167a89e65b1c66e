-- name: prepare_stage_events
-- One row per event that can move an enrollment into funnel stages 3 to 7:
-- value_at is the stage's entry time the event gives, known_at the earliest as-of time at which
-- the event exists (an acknowledgement exists only once its 834 is sent, whatever its own stamp).
-- Stages whose value and known times coincide keep only their earliest event per enrollment.
-- A temporary table: enrollment_milestones holds all that queries need of it.
-- params: none
CREATE OR REPLACE TEMP TABLE stage_events AS
WITH initial_834 AS (
    -- The 834 must reach the enrollment's own issuer to count (metrics.md, issuer matching).
    SELECT enrollment_id, sent_at, ack_code, ack_at
    FROM transactions_834
    WHERE direction = 'outbound'
      AND maintenance_type = '021'
      AND is_enrollment_known
      AND issuer_id = enrollment_issuer_id
),

sent_834 AS (
    SELECT enrollment_id, 3 AS stage, min(sent_at) AS value_at, min(sent_at) AS known_at
    FROM initial_834
    GROUP BY enrollment_id
),

accepted_834 AS (
    SELECT enrollment_id, 4 AS stage, ack_at AS value_at, greatest(sent_at, ack_at) AS known_at
    FROM initial_834
    WHERE ack_code IN ('A', 'E') AND ack_at IS NOT NULL
),

payment_page_event AS (
    SELECT enrollment_id, redirected_at AS event_at
    FROM payments
    WHERE redirect_status = 'ok' AND redirected_at IS NOT NULL
    UNION ALL
    SELECT enrollment_id, paid_at AS event_at
    FROM payments
    WHERE payment_status = 'paid' AND paid_at IS NOT NULL
),

reached_payment AS (
    SELECT enrollment_id, 5 AS stage, min(event_at) AS value_at, min(event_at) AS known_at
    FROM payment_page_event
    GROUP BY enrollment_id
),

paid AS (
    SELECT enrollment_id, 6 AS stage, min(paid_at) AS value_at, min(paid_at) AS known_at
    FROM payments
    WHERE payment_status = 'paid' AND paid_at IS NOT NULL
    GROUP BY enrollment_id
),

effectuated AS (
    SELECT enrollment_id, 7 AS stage, min(sent_at) AS value_at, min(sent_at) AS known_at
    FROM transactions_834
    WHERE direction = 'inbound'
      AND maintenance_type = '021'
      AND maintenance_reason = '28'
      AND is_enrollment_known
      AND issuer_id = enrollment_issuer_id
    GROUP BY enrollment_id
),

final AS (
    SELECT * FROM sent_834
    UNION ALL SELECT * FROM accepted_834
    UNION ALL SELECT * FROM reached_payment
    UNION ALL SELECT * FROM paid
    UNION ALL SELECT * FROM effectuated
)

SELECT * FROM final
