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
        (epoch_us(CASE p.stage_to
             WHEN 'plan_selected' THEN c.entered_plan_selected
             WHEN 'sent_834' THEN c.entered_sent_834
             WHEN 'accepted_834' THEN c.entered_accepted_834
             WHEN 'reached_payment' THEN c.entered_reached_payment
             WHEN 'paid' THEN c.entered_paid
             WHEN 'effectuated' THEN c.entered_effectuated
         END)
         - epoch_us(CASE p.stage_from
             WHEN 'applied' THEN c.entered_applied
             WHEN 'plan_selected' THEN c.entered_plan_selected
             WHEN 'sent_834' THEN c.entered_sent_834
             WHEN 'accepted_834' THEN c.entered_accepted_834
             WHEN 'reached_payment' THEN c.entered_reached_payment
             WHEN 'paid' THEN c.entered_paid
         END)) / 3600000000.0 AS hours
    FROM cohort AS c
    CROSS JOIN stage_pair AS p
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
