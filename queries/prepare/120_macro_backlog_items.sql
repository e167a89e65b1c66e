-- name: macro_backlog_items
-- Table macro backlog_items(as_of_t, date_from, date_to, states, issuers): one row per cohort
-- enrollment in the backlog as of as_of_t (not cancelled): the stage it waits at, since when,
-- its age in days (unrounded), age bucket and binder-payment due date.
-- It reads enrollment_milestones directly rather than enrollment_stages(as_of_t): an enrollment
-- has reached a stage as of as_of_t exactly when reached_<stage>_by <= as_of_t, so the stage it
-- waits at is a few comparisons; the time it entered that stage is, for the stages up to the 834
-- sent, its reached-by time, and from the 834's acceptance on the macros of 098, from the
-- acceptances known by as_of_t. Only the backlog's rows get that far.
-- params: none
CREATE OR REPLACE MACRO backlog_items(as_of_t, date_from, date_to, states, issuers) AS TABLE
WITH open_backlog AS (
    -- plan selected, not effectuated, not cancelled, as of as_of_t
    SELECT *
    FROM milestone_cohort(as_of_t, date_from, date_to, states, issuers)
    WHERE reached_plan_selected_by <= as_of_t
      AND NOT coalesce(reached_effectuated_by <= as_of_t, false)
      AND NOT coalesce(cancelled_at <= as_of_t, false)
),

staged AS (
    SELECT
        *,
        CASE
            WHEN NOT coalesce(reached_sent_834_by <= as_of_t, false) THEN 1
            WHEN NOT coalesce(reached_accepted_834_by <= as_of_t, false) THEN 2
            WHEN NOT coalesce(reached_reached_payment_by <= as_of_t, false) THEN 3
            WHEN NOT coalesce(reached_paid_by <= as_of_t, false) THEN 4
            ELSE 5
        END AS stage_order,
        -- used from stage 3 on, where an acceptance is known
        accepted_834_entered_as_of(
            as_of_t, reached_sent_834_by, accepted_last_known, accepted_min_value, accepted_events
        ) AS entered_accepted_834
    FROM open_backlog
),

waiting AS (
    SELECT
        *,
        [
            'awaiting_834', 'awaiting_ack', 'awaiting_payment_page', 'awaiting_payment', 'awaiting_effectuation'
        ][stage_order] AS stage,
        CASE stage_order
            WHEN 1 THEN reached_plan_selected_by
            WHEN 2 THEN reached_sent_834_by
            WHEN 3 THEN entered_accepted_834
            WHEN 4 THEN reached_payment_entered_as_of(entered_accepted_834, first_reached_payment, responsible_cents)
            ELSE paid_entered_as_of(entered_accepted_834, first_reached_payment, first_paid, responsible_cents)
        END AS waiting_since
    FROM staged
),

aged AS (
    SELECT
        *,
        (epoch_us(as_of_t) - epoch_us(waiting_since)) / 86400000000.0 AS age_days,
        coverage_start_date - INTERVAL 1 DAY AS payment_due_at
    FROM waiting
),

final AS (
    SELECT
        enrollment_id, issuer_id, state, stage, stage_order, waiting_since, age_days,
        CASE
            WHEN age_days < 1 THEN '0-1'
            WHEN age_days < 3 THEN '1-3'
            WHEN age_days < 7 THEN '3-7'
            WHEN age_days < 14 THEN '7-14'
            WHEN age_days < 30 THEN '14-30'
            ELSE '30+'
        END AS age_bucket,
        CAST(payment_due_at AS DATE) AS payment_due_date,
        coverage_start_date,
        application_submitted_at
    FROM aged
)

SELECT * FROM final
