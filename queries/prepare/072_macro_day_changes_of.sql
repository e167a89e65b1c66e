-- name: macro_day_changes_of
-- Table macro day_changes_of(milestones): from a table shaped like enrollment_milestones (named as
-- a string), the net change per (issuer_id, state, submitted_day, series, day) of every count the
-- day-end trends show, for the enrollments that are not test records. A series is a count that
-- only grows (a funnel stage reached, or the cancellation: +1 on the day it counts from) or a
-- spell an enrollment is in and then leaves (a backlog stage, or never sent: +1 on the day it
-- starts, -1 on the day it ends; a spell that ends as it starts never counts). Every change
-- happens no earlier than the enrollment's application, so the value of a series as of the end
-- of any day before T's day is the sum of its changes up to that day, whatever T is: the trends
-- read days before T's own day from here and compute T's day as of T.
-- params: none
CREATE OR REPLACE MACRO day_changes_of(milestones) AS TABLE
WITH enrollment AS (
    -- the cohort at any T: not a test record, and an application (a record without its time, kept
    -- and named as a problem, is in no cohort)
    SELECT * FROM query_table(milestones) WHERE NOT is_test AND application_submitted_at IS NOT NULL
),

-- the backlog stages (metrics.md "Backlog"): entered when the stage before is reached, left when
-- the stage is reached or the enrollment is cancelled; never sent: from 24 hours after the plan
-- selection (never before the application) until the first 834 to the issuer or the cancellation
spell AS (
    SELECT issuer_id, state, application_submitted_at, 'awaiting_834' AS series,
           reached_plan_selected_by AS started_at, least(reached_sent_834_by, cancelled_at) AS ended_at
    FROM enrollment
    UNION ALL
    SELECT issuer_id, state, application_submitted_at, 'awaiting_ack',
           reached_sent_834_by, least(reached_accepted_834_by, cancelled_at)
    FROM enrollment
    UNION ALL
    SELECT issuer_id, state, application_submitted_at, 'awaiting_payment_page',
           reached_accepted_834_by, least(reached_reached_payment_by, cancelled_at)
    FROM enrollment
    UNION ALL
    SELECT issuer_id, state, application_submitted_at, 'awaiting_payment',
           reached_reached_payment_by, least(reached_paid_by, cancelled_at)
    FROM enrollment
    UNION ALL
    SELECT issuer_id, state, application_submitted_at, 'awaiting_effectuation',
           reached_paid_by, least(reached_effectuated_by, cancelled_at)
    FROM enrollment
    UNION ALL
    SELECT issuer_id, state, application_submitted_at, 'never_sent',
           greatest(plan_selected_at + INTERVAL 24 HOURS, application_submitted_at),
           least(first_sent_834, cancelled_at)
    FROM enrollment
    WHERE plan_selected_at IS NOT NULL
),

reached AS (
    UNPIVOT (
        SELECT issuer_id, state, application_submitted_at,
               reached_applied_by AS applied, reached_plan_selected_by AS plan_selected,
               reached_sent_834_by AS sent_834, reached_accepted_834_by AS accepted_834,
               reached_reached_payment_by AS reached_payment, reached_paid_by AS paid,
               reached_effectuated_by AS effectuated,
               -- a cancellation counts once the application exists (as of a day's end)
               CASE WHEN cancelled_at IS NOT NULL
                    THEN greatest(cancelled_at, application_submitted_at) END AS cancelled
        FROM enrollment
    )
    ON applied, plan_selected, sent_834, accepted_834, reached_payment, paid, effectuated, cancelled
    INTO NAME series VALUE changed_at
),

change AS (
    SELECT issuer_id, state, application_submitted_at, series, changed_at, 1 AS delta
    FROM reached
    UNION ALL
    SELECT issuer_id, state, application_submitted_at, series, started_at, 1
    FROM spell
    WHERE started_at IS NOT NULL AND (ended_at IS NULL OR ended_at > started_at)
    UNION ALL
    SELECT issuer_id, state, application_submitted_at, series, ended_at, -1
    FROM spell
    WHERE started_at IS NOT NULL AND ended_at > started_at
)

SELECT
    issuer_id,
    state,
    CAST(application_submitted_at AS DATE) AS submitted_day,
    series,
    CAST(changed_at AS DATE) AS day,
    CAST(sum(delta) AS BIGINT) AS delta
FROM change
WHERE changed_at IS NOT NULL
GROUP BY ALL
HAVING sum(delta) <> 0
