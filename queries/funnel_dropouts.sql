-- name: funnel_dropouts
-- One row per cohort enrollment (cancelled included) that reached the stage before $stage but not
-- $stage as of $as_of, oldest first, at most $limit rows: ids, issuer, state, the stage it entered
-- last, when, and its age there in days. No protected field (birth date, subscriber id) is returned.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[], $stage varchar, $limit integer
WITH cohort AS (
    SELECT *
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[])
),

entry AS (
    SELECT
        enrollment_id, issuer_id, state, is_cancelled,
        [entered_applied, entered_plan_selected, entered_sent_834, entered_accepted_834,
         entered_reached_payment, entered_paid, entered_effectuated] AS entered,
        list_position(['applied', 'plan_selected', 'sent_834', 'accepted_834', 'reached_payment', 'paid',
                       'effectuated'], $stage::VARCHAR) AS stage_number
    FROM cohort
),

dropped AS (
    SELECT *, entered[stage_number - 1] AS entered_at
    FROM entry
    WHERE stage_number > 1
      AND entered[stage_number - 1] IS NOT NULL
      AND entered[stage_number] IS NULL
),

final AS (
    SELECT
        enrollment_id,
        issuer_id,
        state,
        ['applied', 'plan_selected', 'sent_834', 'accepted_834', 'reached_payment', 'paid',
         'effectuated'][stage_number - 1] AS stage_entered,
        entered_at,
        (epoch_us($as_of::TIMESTAMP) - epoch_us(entered_at)) / 86400000000.0 AS age_days,
        is_cancelled AS cancelled
    FROM dropped
)

SELECT * FROM final ORDER BY entered_at, enrollment_id LIMIT $limit
