-- name: prepare_day_changes
-- day_changes: the net change per (issuer_id, state, submitted_day, series, day) of every day-end
-- trend's count (day_changes_of), so that a trend's days before T's own day are read from a few
-- rows per day instead of from every enrollment. Stored in filter order, like the milestones.
-- params: none
CREATE OR REPLACE TABLE day_changes AS
SELECT * FROM day_changes_of('enrollment_milestones')
ORDER BY state, issuer_id, submitted_day, series, day
