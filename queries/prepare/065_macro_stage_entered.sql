-- name: macro_stage_entered
-- Scalar macro stage_entered(previous, event): when a funnel stage is entered, given the time the
-- stage before it was entered and the stage's own event: the later of the two, so that the funnel
-- never runs backwards, and null when either is null (greatest() alone would skip a null). One rule
-- for the latest times (enrollment_milestones) and for any as-of time (enrollment_stages).
-- params: none
CREATE OR REPLACE MACRO stage_entered(previous, event) AS
CASE WHEN previous IS NOT NULL AND event IS NOT NULL THEN greatest(event, previous) END
