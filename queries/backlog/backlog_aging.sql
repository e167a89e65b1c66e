-- name: backlog_aging
-- 30 rows, one per (backlog stage, age bucket) in the order of metrics.md, zeros included: cohort
-- enrollments waiting at that stage as of $as_of, the oldest age in days among them, and how many
-- of them have their binder payment due within the next 7 days of $as_of's day (at_risk) or due
-- before it (past_due). The payment-deadline counts are read here, from the same backlog items,
-- so that a view evaluates the backlog once (metrics.payment_deadline_risk sums them over the
-- stages before awaiting_effectuation).
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH item AS (
    SELECT *
    FROM backlog_items($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                       $states::VARCHAR[], $issuers::VARCHAR[])
),

stage AS (
    SELECT * FROM (VALUES
        (1, 'awaiting_834'), (2, 'awaiting_ack'), (3, 'awaiting_payment_page'),
        (4, 'awaiting_payment'), (5, 'awaiting_effectuation')
    ) AS s(stage_order, stage)
),

bucket AS (
    SELECT * FROM (VALUES
        (1, '0-1'), (2, '1-3'), (3, '3-7'), (4, '7-14'), (5, '14-30'), (6, '30+')
    ) AS b(bucket_order, age_bucket)
),

counted AS (
    SELECT
        stage,
        age_bucket,
        count(*) AS n,
        max(age_days) AS oldest_days,
        count(*) FILTER (WHERE payment_due_date >= CAST($as_of::TIMESTAMP AS DATE)
                 AND payment_due_date <= CAST($as_of::TIMESTAMP AS DATE) + 7) AS at_risk,
        count(*) FILTER (WHERE payment_due_date < CAST($as_of::TIMESTAMP AS DATE)) AS past_due
    FROM item
    GROUP BY ALL
),

final AS (
    SELECT
        s.stage,
        b.age_bucket AS bucket,
        coalesce(c.n, 0) AS count,
        c.oldest_days,
        coalesce(c.at_risk, 0) AS at_risk,
        coalesce(c.past_due, 0) AS past_due
    FROM stage AS s
    CROSS JOIN bucket AS b
    LEFT JOIN counted AS c ON c.stage = s.stage AND c.age_bucket = b.age_bucket
    ORDER BY s.stage_order, b.bucket_order
)

SELECT * FROM final
