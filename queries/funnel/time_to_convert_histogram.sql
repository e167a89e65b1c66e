-- name: time_to_convert_histogram
-- One row per duration bin (ascending, zeros included): cohort enrollments, cancelled included,
-- that reached $stage_to as of $as_of, by hours between entering $stage_from and $stage_to.
-- params: $as_of timestamp, $date_from timestamp, $date_to timestamp, $states varchar[], $issuers varchar[], $stage_from varchar, $stage_to varchar
WITH cohort AS (
    SELECT *
    FROM cohort($as_of::TIMESTAMP, $date_from::TIMESTAMP, $date_to::TIMESTAMP,
                $states::VARCHAR[], $issuers::VARCHAR[])
),

stage_name AS (
    SELECT ['applied', 'plan_selected', 'sent_834', 'accepted_834', 'reached_payment', 'paid', 'effectuated'] AS names
),

duration AS (
    SELECT
        (epoch_us(entered[list_position(names, $stage_to::VARCHAR)])
         - epoch_us(entered[list_position(names, $stage_from::VARCHAR)])) / 3600000000.0 AS hours
    FROM (
        SELECT [entered_applied, entered_plan_selected, entered_sent_834, entered_accepted_834,
                entered_reached_payment, entered_paid, entered_effectuated] AS entered
        FROM cohort
    ), stage_name
),

bin AS (
    SELECT * FROM (VALUES
        (1, 'under 1 h', 0.0, 1.0), (2, '1-6 h', 1.0, 6.0), (3, '6-24 h', 6.0, 24.0),
        (4, '1-3 days', 24.0, 72.0), (5, '3-7 days', 72.0, 168.0), (6, '1-2 weeks', 168.0, 336.0),
        (7, '2-4 weeks', 336.0, 672.0), (8, '4+ weeks', 672.0, 1e12)
    ) AS b(bin_order, label, low, high)
),

binned AS (
    SELECT
        CASE
            WHEN hours < 0 THEN NULL
            WHEN hours < 1 THEN 1 WHEN hours < 6 THEN 2 WHEN hours < 24 THEN 3 WHEN hours < 72 THEN 4
            WHEN hours < 168 THEN 5 WHEN hours < 336 THEN 6 WHEN hours < 672 THEN 7 WHEN hours < 1e12 THEN 8
        END AS bin_order,
        count(*) AS enrollments
    FROM duration
    WHERE hours IS NOT NULL
    GROUP BY ALL
),

final AS (
    -- every bin, with 0 when empty; the bounds above are the bins' (low included, high excluded)
    SELECT b.bin_order, b.label, coalesce(d.enrollments, 0) AS enrollments
    FROM bin AS b
    LEFT JOIN binned AS d ON d.bin_order = b.bin_order
)

SELECT label, enrollments FROM final ORDER BY bin_order
