-- name: macro_reached_by_pair
-- Table macro reached_by_pair(as_of_t, date_from, date_to, states, issuers): per (issuer_id, state),
-- the cohort's enrollments that reached each funnel stage as of as_of_t, those cancelled as of it,
-- the earliest application and the earliest plan selection by as_of_t (cancelled included: where
-- the day-end trends start). A stage is reached as of T exactly when T >= its reached-by time
-- (enrollment_milestones), so no per-enrollment step is needed: one pass, one small group per
-- (issuer, state), which the funnel adds up per breakdown.
-- params: none
CREATE OR REPLACE MACRO reached_by_pair(as_of_t, date_from, date_to, states, issuers) AS TABLE
SELECT
    issuer_id,
    state,
    min(application_submitted_at) AS first_applied_at,
    min(plan_selected_at) FILTER (WHERE plan_selected_at <= as_of_t) AS first_plan_selected_at,
    count(*) AS applied,
    count(*) FILTER (WHERE reached_plan_selected_by <= as_of_t) AS plan_selected,
    count(*) FILTER (WHERE reached_sent_834_by <= as_of_t) AS sent_834,
    count(*) FILTER (WHERE reached_accepted_834_by <= as_of_t) AS accepted_834,
    count(*) FILTER (WHERE reached_reached_payment_by <= as_of_t) AS reached_payment,
    count(*) FILTER (WHERE reached_paid_by <= as_of_t) AS paid,
    count(*) FILTER (WHERE reached_effectuated_by <= as_of_t) AS effectuated,
    count(*) FILTER (WHERE cancelled_at <= as_of_t) AS cancelled
FROM milestone_cohort(as_of_t, date_from, date_to, states, issuers)
GROUP BY issuer_id, state
