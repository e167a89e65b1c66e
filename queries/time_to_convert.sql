-- name: time_to_convert
-- One row per stage pair (the three report pairs first): over cohort enrollments, cancelled ones
-- included, that reached the later stage as of $as_of, n and the median and 90th percentile of
-- hours between entering the two stages.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH cohort AS (
    SELECT *
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[])
),

stage_entry AS (
    UNPIVOT cohort
    ON entered_applied, entered_plan_selected, entered_sent_834, entered_accepted_834,
       entered_reached_payment, entered_paid, entered_effectuated
    INTO NAME entered_column VALUE entered_at
),

entry AS (
    SELECT enrollment_id, replace(entered_column, 'entered_', '') AS stage, entered_at
    FROM stage_entry
),

stage_pair AS (
    SELECT * FROM (VALUES
        (1, 'plan_selected', 'accepted_834'),
        (2, 'plan_selected', 'paid'),
        (3, 'plan_selected', 'effectuated'),
        (4, 'applied', 'plan_selected'),
        (5, 'plan_selected', 'sent_834'),
        (6, 'sent_834', 'accepted_834'),
        (7, 'accepted_834', 'reached_payment'),
        (8, 'reached_payment', 'paid'),
        (9, 'paid', 'effectuated')
    ) AS p(pair_order, stage_from, stage_to)
),

duration AS (
    SELECT
        p.pair_order,
        (epoch_us(b.entered_at) - epoch_us(a.entered_at)) / 3600000000.0 AS hours
    FROM stage_pair AS p
    JOIN entry AS b ON b.stage = p.stage_to
    JOIN entry AS a ON a.stage = p.stage_from AND a.enrollment_id = b.enrollment_id
),

final AS (
    SELECT
        p.pair_order,
        p.stage_from,
        p.stage_to,
        count(d.hours) AS n,
        quantile_cont(d.hours, 0.5) AS median_hours,
        quantile_cont(d.hours, 0.9) AS p90_hours
    FROM stage_pair AS p
    LEFT JOIN duration AS d ON d.pair_order = p.pair_order
    GROUP BY ALL
)

SELECT * FROM final ORDER BY pair_order
