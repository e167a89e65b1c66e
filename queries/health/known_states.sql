-- name: known_states
-- One row per state code found in enrollments or issuers.csv (state order): the values a state
-- filter can match. A filter value outside this list is named as unknown (metrics.md, Filters).
-- params: none
WITH states AS (
    SELECT state FROM enrollments
    UNION SELECT state FROM issuers
)

SELECT state FROM states WHERE state IS NOT NULL ORDER BY state
