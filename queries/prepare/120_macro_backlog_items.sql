-- name: macro_backlog_items
-- Table macro backlog_items(as_of_t, date_from, date_to, states, issuers): one row per cohort
-- enrollment in the backlog as of as_of_t (not cancelled): the stage it waits at, since when,
-- its age in days (unrounded), age bucket and binder-payment due date.
-- params: none
CREATE OR REPLACE MACRO backlog_items(as_of_t, date_from, date_to, states, issuers) AS TABLE
WITH open_enrollment AS (
    SELECT * FROM cohort(as_of_t, date_from, date_to, states, issuers) WHERE NOT is_cancelled
),

waiting AS (
    SELECT *, 'awaiting_834' AS stage, 1 AS stage_order, entered_plan_selected AS waiting_since
    FROM open_enrollment WHERE entered_plan_selected IS NOT NULL AND entered_sent_834 IS NULL
    UNION ALL
    SELECT *, 'awaiting_ack', 2, entered_sent_834
    FROM open_enrollment WHERE entered_sent_834 IS NOT NULL AND entered_accepted_834 IS NULL
    UNION ALL
    SELECT *, 'awaiting_payment_page', 3, entered_accepted_834
    FROM open_enrollment WHERE entered_accepted_834 IS NOT NULL AND entered_reached_payment IS NULL
    UNION ALL
    SELECT *, 'awaiting_payment', 4, entered_reached_payment
    FROM open_enrollment WHERE entered_reached_payment IS NOT NULL AND entered_paid IS NULL
    UNION ALL
    SELECT *, 'awaiting_effectuation', 5, entered_paid
    FROM open_enrollment WHERE entered_paid IS NOT NULL AND entered_effectuated IS NULL
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
