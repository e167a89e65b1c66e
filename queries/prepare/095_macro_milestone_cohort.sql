-- name: macro_milestone_cohort
-- Table macro milestone_cohort(as_of_t, date_from, date_to, states, issuers): enrollment_milestones
-- for the cohort every enrollment-level metric counts (not test records, submitted by as_of_t, in
-- the window and filters), for the trends computed in one pass from reached-by times.
-- params: none
CREATE OR REPLACE MACRO milestone_cohort(as_of_t, date_from, date_to, states, issuers) AS TABLE
SELECT *
FROM enrollment_milestones
WHERE NOT is_test
  AND application_submitted_at <= as_of_t
  AND (date_from IS NULL OR application_submitted_at >= date_from)
  AND (date_to IS NULL OR application_submitted_at < date_to)
  AND (states IS NULL OR list_contains(states, state))
  AND (issuers IS NULL OR list_contains(issuers, issuer_id))
