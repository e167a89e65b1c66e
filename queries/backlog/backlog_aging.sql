-- name: backlog_aging
-- For each as-of time in $as_of_times, 30 rows, one per (backlog stage, age bucket) in the order of
-- metrics.md, zeros included: cohort enrollments waiting at that stage as of that time, the oldest
-- age in days among them, and how many of them have their binder payment due within the next 7 days
-- of that time's day (at_risk) or due before it (past_due). The payment-deadline counts are read
-- here, from the same backlog items, so that a view evaluates the backlog once
-- (metrics.payment_deadline_risk sums them over the stages before awaiting_effectuation). Several
-- as-of times (the overview's weekly sparklines) are counted in one scan of the enrollments.
-- params: $as_of_times timestamp[], $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[]
WITH as_of_time AS (
    SELECT DISTINCT unnest($as_of_times::TIMESTAMP[]) AS as_of_t
),

item AS (
    SELECT t.as_of_t, i.*
    FROM as_of_time AS t,
        LATERAL backlog_items(t.as_of_t, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                              $states::VARCHAR[], $issuers::VARCHAR[]) AS i
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
        as_of_t,
        stage,
        age_bucket,
        count(*) AS n,
        max(age_days) AS oldest_days,
        count(*) FILTER (WHERE payment_due_date >= CAST(as_of_t AS DATE)
                 AND payment_due_date <= CAST(as_of_t AS DATE) + 7) AS at_risk,
        count(*) FILTER (WHERE payment_due_date < CAST(as_of_t AS DATE)) AS past_due
    FROM item
    GROUP BY ALL
),

final AS (
    SELECT
        t.as_of_t AS as_of,
        s.stage,
        b.age_bucket AS bucket,
        coalesce(c.n, 0) AS count,
        c.oldest_days,
        coalesce(c.at_risk, 0) AS at_risk,
        coalesce(c.past_due, 0) AS past_due
    FROM as_of_time AS t
    CROSS JOIN stage AS s
    CROSS JOIN bucket AS b
    LEFT JOIN counted AS c ON c.as_of_t = t.as_of_t AND c.stage = s.stage AND c.age_bucket = b.age_bucket
    ORDER BY t.as_of_t, s.stage_order, b.bucket_order
)

SELECT * FROM final
