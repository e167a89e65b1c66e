-- name: macro_enrollment_stages
-- Table macro enrollment_stages(as_of_t): one row per enrollment (test records included) with the
-- time it entered each funnel stage as of as_of_t (entered_<stage>, null when not reached),
-- clamped so that the funnel never runs backwards, and whether it is cancelled as of as_of_t.
-- params: none
CREATE OR REPLACE MACRO enrollment_stages(as_of_t) AS TABLE
WITH joined AS (
    -- the events known as of as_of_t (enrollment_milestones): one pass, no join
    SELECT
        *,
        CASE WHEN first_sent_834 <= as_of_t THEN first_sent_834 END AS event_sent_834,
        CASE
            WHEN accepted_last_known <= as_of_t THEN accepted_min_value
            WHEN accepted_first_known <= as_of_t
                THEN list_min([e.v FOR e IN accepted_events IF e.k <= as_of_t])
        END AS event_accepted_834,
        CASE WHEN first_reached_payment <= as_of_t THEN first_reached_payment END AS event_reached_payment,
        CASE WHEN first_paid <= as_of_t THEN first_paid END AS event_paid,
        CASE WHEN first_effectuated <= as_of_t THEN first_effectuated END AS event_effectuated
    FROM enrollment_milestones
    WHERE application_submitted_at <= as_of_t
),

step_1 AS (
    SELECT
        *,
        application_submitted_at AS entered_applied,
        CASE WHEN plan_selected_at <= as_of_t
             THEN greatest(plan_selected_at, application_submitted_at) END AS entered_plan_selected
    FROM joined
),

step_2 AS (
    SELECT *, stage_entered(entered_plan_selected, event_sent_834) AS entered_sent_834 FROM step_1
),

step_3 AS (
    SELECT *, stage_entered(entered_sent_834, event_accepted_834) AS entered_accepted_834 FROM step_2
),

step_4 AS (
    SELECT
        *,
        payment_stage_entered(entered_accepted_834, event_reached_payment, responsible_cents)
            AS entered_reached_payment
    FROM step_3
),

step_5 AS (
    SELECT
        *,
        payment_stage_entered(entered_reached_payment, event_paid, responsible_cents)
            AS entered_paid
    FROM step_4
),

step_6 AS (
    SELECT *, stage_entered(entered_paid, event_effectuated) AS entered_effectuated FROM step_5
),

final AS (
    SELECT
        enrollment_id, state, issuer_id, is_test, application_submitted_at, plan_selected_at,
        coverage_start_date, responsible_cents, subscriber_birth_date,
        eff_transaction_id, eff_sent_at, eff_differing_fields,
        coalesce(cancelled_at <= as_of_t, false) AS is_cancelled,
        event_sent_834 IS NOT NULL AS has_initial_834_to_issuer,
        entered_applied, entered_plan_selected, entered_sent_834, entered_accepted_834,
        entered_reached_payment, entered_paid, entered_effectuated
    FROM step_6
)

SELECT * FROM final
