-- name: fix_impact_counts
-- One row per release deployed by $as_of (in deployed_at, release_id order) among those visible to
-- the caller ($release_issuers: null = all; else releases without an issuer or with one listed):
-- filtered outbound 834s sent in the $window_days before it and after it (closed at the earlier of
-- the window's end and $as_of), errored and per category, and the visible releases deployed
-- within the window on either side (overlapping_releases).
-- params: $as_of timestamp, $window_days integer, $states varchar[], $issuers varchar[], $release_issuers varchar[]
WITH visible_release AS (
    SELECT *
    FROM releases
    WHERE $release_issuers::VARCHAR[] IS NULL
       OR issuer_id IS NULL
       OR list_contains($release_issuers::VARCHAR[], issuer_id)
),

judged_release AS (
    SELECT
        *,
        deployed_at - to_days(CAST($window_days AS INTEGER)) AS window_start,
        deployed_at + to_days(CAST($window_days AS INTEGER)) AS window_end
    FROM visible_release
    WHERE deployed_at <= $as_of::TIMESTAMP
),

counted AS (
    -- the date window does not apply to fix impact
    SELECT *
    FROM counted_outbound_834($as_of::TIMESTAMP, NULL, NULL, $states::VARCHAR[], $issuers::VARCHAR[])
),

in_window AS (
    SELECT
        r.release_id,
        CASE WHEN c.sent_at < r.deployed_at THEN 'before' ELSE 'after' END AS side,
        c.*
    FROM judged_release AS r
    JOIN counted AS c
      ON c.sent_at >= r.window_start
     AND c.sent_at <= r.window_end
     -- a release for one issuer is judged on that issuer's 834s only
     AND (r.issuer_id IS NULL OR c.issuer_id = r.issuer_id)
),

side_count AS (
    SELECT
        release_id,
        error_counts(side = 'before', w) AS counts_before,
        error_counts(side = 'after', w) AS counts_after
    FROM in_window AS w
    GROUP BY release_id
),

overlap AS (
    -- any other visible release within [R - W, R + W], deployed before or after $as_of
    SELECT
        r.release_id,
        list(o.release_id ORDER BY o.deployed_at, o.release_id) AS overlapping_releases
    FROM judged_release AS r
    JOIN visible_release AS o
      ON o.release_id <> r.release_id
     AND o.deployed_at >= r.window_start
     AND o.deployed_at <= r.window_end
    GROUP BY r.release_id
),

final AS (
    SELECT
        r.release_id, r.deployed_at, r.issuer_id, r.component, r.title, r.metric,
        -- a release without an 834 in its window has no side_count row: zeros
        coalesce(COLUMNS(counts_before.*), 0) AS 'before_\0',
        coalesce(COLUMNS(counts_after.*), 0) AS 'after_\0',
        coalesce(o.overlapping_releases, []) AS overlapping_releases
    FROM judged_release AS r
    LEFT JOIN side_count AS s ON s.release_id = r.release_id
    LEFT JOIN overlap AS o ON o.release_id = r.release_id
)

SELECT * FROM final ORDER BY deployed_at, release_id
