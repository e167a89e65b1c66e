-- name: prepare_releases
-- One row per release of releases.csv; deployed_at parsed as a UTC timestamp.
-- params: none
CREATE OR REPLACE TABLE releases AS
WITH staged AS (
    SELECT release_id, deployed_at, component, title, issuer_id, _source_file FROM stg_releases
),

final AS (
    SELECT * FROM staged WHERE release_id IS NOT NULL AND deployed_at IS NOT NULL
)

SELECT * FROM final
