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

-- one pass over the cohort: the hours of each pair in its own column (in pair_order)
duration AS (
    SELECT
        (epoch_us(entered_accepted_834) - epoch_us(entered_plan_selected)) / 3600000000.0 AS h1,
        (epoch_us(entered_paid) - epoch_us(entered_plan_selected)) / 3600000000.0 AS h2,
        (epoch_us(entered_effectuated) - epoch_us(entered_plan_selected)) / 3600000000.0 AS h3,
        (epoch_us(entered_plan_selected) - epoch_us(entered_applied)) / 3600000000.0 AS h4,
        (epoch_us(entered_sent_834) - epoch_us(entered_plan_selected)) / 3600000000.0 AS h5,
        (epoch_us(entered_accepted_834) - epoch_us(entered_sent_834)) / 3600000000.0 AS h6,
        (epoch_us(entered_reached_payment) - epoch_us(entered_accepted_834)) / 3600000000.0 AS h7,
        (epoch_us(entered_paid) - epoch_us(entered_reached_payment)) / 3600000000.0 AS h8,
        (epoch_us(entered_effectuated) - epoch_us(entered_paid)) / 3600000000.0 AS h9
    FROM cohort
),

summary AS (
    SELECT
        [count(h1), count(h2), count(h3), count(h4), count(h5), count(h6), count(h7), count(h8), count(h9)] AS n,
        [quantile_cont(h1, [0.5, 0.9]), quantile_cont(h2, [0.5, 0.9]), quantile_cont(h3, [0.5, 0.9]),
         quantile_cont(h4, [0.5, 0.9]), quantile_cont(h5, [0.5, 0.9]), quantile_cont(h6, [0.5, 0.9]),
         quantile_cont(h7, [0.5, 0.9]), quantile_cont(h8, [0.5, 0.9]), quantile_cont(h9, [0.5, 0.9])] AS q
    FROM duration
),

final AS (
    SELECT
        p.pair_order,
        p.stage_from,
        p.stage_to,
        s.n[p.pair_order] AS n,
        s.q[p.pair_order][1] AS median_hours,
        s.q[p.pair_order][2] AS p90_hours
    FROM stage_pair AS p
    CROSS JOIN summary AS s
)

SELECT * FROM final ORDER BY pair_order
