-- name: prepare_enrollment_milestones
-- One row per enrollment (test records included): for each funnel stage, the earliest as-of time
-- at which the enrollment counts as having reached it (reached_<stage>_by). A stage is reached as
-- of T exactly when T >= that time, so counts at many as-of times need no recomputation.
-- It also holds each stage's events in the form enrollment_stages(T) needs, so that the funnel as
-- of any T is one pass over this table with no join: for stages 3, 5, 6 and 7 an event's value is
-- its known time, so the earliest one is enough (first_<stage>); for stage 4 (value ack_at, known
-- once the 834 is sent) the earliest value of all events, the times the first and the last become
-- known, and the list of all events for the rare enrollment with more than one.
-- params: none
CREATE OR REPLACE TABLE enrollment_milestones AS
WITH enrollment AS (
    SELECT
        enrollment_id, state, issuer_id, is_test, application_submitted_at, plan_selected_at,
        cancelled_at, coverage_start_date, responsible_cents, subscriber_birth_date, plan_id, aptc_amount_cents
    FROM enrollments
),

-- Reconciliation compares the issuer's earliest effectuation (on a tie the smaller transaction_id)
-- with the enrollment: that one is the earliest sent by any T at which one exists.
first_effectuation AS (
    SELECT
        enrollment_id,
        transaction_id AS eff_transaction_id,
        sent_at AS eff_sent_at,
        plan_id AS eff_plan_id,
        coverage_start_date AS eff_coverage_start_date,
        aptc_amount_cents AS eff_aptc_amount_cents
    FROM transactions_834
    WHERE direction = 'inbound' AND maintenance_type = '021' AND maintenance_reason = '28'
      AND is_enrollment_known AND issuer_id = enrollment_issuer_id
    QUALIFY row_number() OVER (PARTITION BY enrollment_id ORDER BY sent_at, transaction_id) = 1
),

first_known AS (
    SELECT
        enrollment_id,
        min(known_at) FILTER (WHERE stage = 3) AS known_sent_834,
        min(known_at) FILTER (WHERE stage = 4) AS known_accepted_834,
        min(known_at) FILTER (WHERE stage = 5) AS known_reached_payment,
        min(known_at) FILTER (WHERE stage = 6) AS known_paid,
        min(known_at) FILTER (WHERE stage = 7) AS known_effectuated,
        max(known_at) FILTER (WHERE stage = 4) AS accepted_last_known,
        min(value_at) FILTER (WHERE stage = 4) AS accepted_min_value,
        CASE WHEN count(*) FILTER (WHERE stage = 4) > 1
             THEN list({'k': known_at, 'v': value_at}) FILTER (WHERE stage = 4) END AS accepted_events
    FROM stage_events
    GROUP BY enrollment_id
),

joined AS (
    SELECT e.*, k.* EXCLUDE (enrollment_id), f.* EXCLUDE (enrollment_id)
    FROM enrollment AS e
    LEFT JOIN first_known AS k ON k.enrollment_id = e.enrollment_id
    LEFT JOIN first_effectuation AS f ON f.enrollment_id = e.enrollment_id
),

-- each stage is entered no earlier than the one before it (stage_entered, payment_stage_entered)
step_1 AS (
    SELECT
        *,
        application_submitted_at AS reached_applied_by,
        CASE WHEN plan_selected_at IS NOT NULL
             THEN greatest(plan_selected_at, application_submitted_at) END AS reached_plan_selected_by
    FROM joined
),

step_2 AS (
    SELECT *, stage_entered(reached_plan_selected_by, known_sent_834) AS reached_sent_834_by FROM step_1
),

step_3 AS (
    SELECT *, stage_entered(reached_sent_834_by, known_accepted_834) AS reached_accepted_834_by FROM step_2
),

step_4 AS (
    SELECT
        *,
        payment_stage_entered(reached_accepted_834_by, known_reached_payment, responsible_cents)
            AS reached_reached_payment_by
    FROM step_3
),

step_5 AS (
    SELECT
        *,
        payment_stage_entered(reached_reached_payment_by, known_paid, responsible_cents)
            AS reached_paid_by
    FROM step_4
),

step_6 AS (
    SELECT *, stage_entered(reached_paid_by, known_effectuated) AS reached_effectuated_by FROM step_5
),

final AS (
    SELECT
        enrollment_id, state, issuer_id, is_test, application_submitted_at, plan_selected_at,
        cancelled_at, coverage_start_date, responsible_cents,
        reached_applied_by, reached_plan_selected_by, reached_sent_834_by, reached_accepted_834_by,
        reached_reached_payment_by, reached_paid_by, reached_effectuated_by,
        known_sent_834 AS first_sent_834, known_accepted_834 AS accepted_first_known,
        accepted_last_known, accepted_min_value, accepted_events,
        known_reached_payment AS first_reached_payment, known_paid AS first_paid,
        known_effectuated AS first_effectuated,
        subscriber_birth_date,
        eff_transaction_id,
        eff_sent_at,
        -- the fields in which the effectuation differs from the enrollment (two nulls are equal)
        CASE WHEN eff_transaction_id IS NOT NULL THEN concat_ws(', ',
            CASE WHEN plan_id IS DISTINCT FROM eff_plan_id THEN 'plan_id' END,
            CASE WHEN coverage_start_date IS DISTINCT FROM eff_coverage_start_date THEN 'coverage_start_date' END,
            CASE WHEN aptc_amount_cents IS DISTINCT FROM eff_aptc_amount_cents THEN 'aptc_amount' END
        ) END AS eff_differing_fields
    FROM step_6
)

-- Stored in filter order: a state or issuer filter then reads only the blocks that hold its enrollments.
SELECT * FROM final ORDER BY state, issuer_id, application_submitted_at
