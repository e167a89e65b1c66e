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

stage_number AS (
    SELECT list_position(['applied', 'plan_selected', 'sent_834', 'accepted_834', 'reached_payment', 'paid',
                          'effectuated'], $stage::VARCHAR) AS n
),

dropped AS (
    -- entered the stage before $stage (entered_at) but not $stage itself
    SELECT
        c.enrollment_id, c.issuer_id, c.state, c.is_cancelled, s.n AS stage_number,
        CASE s.n
            WHEN 2 THEN c.entered_applied WHEN 3 THEN c.entered_plan_selected WHEN 4 THEN c.entered_sent_834
            WHEN 5 THEN c.entered_accepted_834 WHEN 6 THEN c.entered_reached_payment WHEN 7 THEN c.entered_paid
        END AS entered_at,
        CASE s.n
            WHEN 2 THEN c.entered_plan_selected WHEN 3 THEN c.entered_sent_834 WHEN 4 THEN c.entered_accepted_834
            WHEN 5 THEN c.entered_reached_payment WHEN 6 THEN c.entered_paid WHEN 7 THEN c.entered_effectuated
        END AS entered_stage_at
    FROM cohort AS c, stage_number AS s
    WHERE s.n > 1
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
    WHERE entered_at IS NOT NULL AND entered_stage_at IS NULL
)

SELECT * FROM final ORDER BY entered_at, enrollment_id LIMIT $limit
