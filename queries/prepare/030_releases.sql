-- name: prepare_releases
-- One row per release of releases.csv; deployed_at parsed as a UTC timestamp; metric (the failure
-- rate the release is judged on) defaulted from the component when empty: redirect_failure for
-- payment_redirect, else error_834. Unknown metrics are an error the
-- engine names; they stay as they are here.
-- params: none
CREATE OR REPLACE TABLE releases AS
WITH staged AS (
    SELECT
        release_id, deployed_at, component, title, issuer_id,
        coalesce(metric, CASE WHEN component = 'payment_redirect' THEN 'redirect_failure' ELSE 'error_834' END)
            AS metric,
        _source_file
    FROM stg_releases
),

final AS (
    SELECT * FROM staged WHERE release_id IS NOT NULL AND deployed_at IS NOT NULL
)

SELECT * FROM final
