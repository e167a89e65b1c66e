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
        count(*) FILTER (WHERE side = 'before') AS before_sent,
        count(*) FILTER (WHERE side = 'before' AND is_errored) AS before_errored,
        count(*) FILTER (WHERE side = 'before' AND is_rejected) AS before_rejected,
        count(*) FILTER (WHERE side = 'before' AND is_unacknowledged) AS before_unacknowledged,
        count(*) FILTER (WHERE side = 'before' AND is_duplicate) AS before_duplicate,
        count(*) FILTER (WHERE side = 'before' AND is_mismatch) AS before_mismatch,
        count(*) FILTER (WHERE side = 'before' AND is_unmatched) AS before_unmatched,
        count(*) FILTER (WHERE side = 'after') AS after_sent,
        count(*) FILTER (WHERE side = 'after' AND is_errored) AS after_errored,
        count(*) FILTER (WHERE side = 'after' AND is_rejected) AS after_rejected,
        count(*) FILTER (WHERE side = 'after' AND is_unacknowledged) AS after_unacknowledged,
        count(*) FILTER (WHERE side = 'after' AND is_duplicate) AS after_duplicate,
        count(*) FILTER (WHERE side = 'after' AND is_mismatch) AS after_mismatch,
        count(*) FILTER (WHERE side = 'after' AND is_unmatched) AS after_unmatched
    FROM in_window
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
        r.release_id, r.deployed_at, r.issuer_id, r.component, r.title,
        coalesce(s.before_sent, 0) AS before_sent,
        coalesce(s.before_errored, 0) AS before_errored,
        coalesce(s.before_rejected, 0) AS before_rejected,
        coalesce(s.before_unacknowledged, 0) AS before_unacknowledged,
        coalesce(s.before_duplicate, 0) AS before_duplicate,
        coalesce(s.before_mismatch, 0) AS before_mismatch,
        coalesce(s.before_unmatched, 0) AS before_unmatched,
        coalesce(s.after_sent, 0) AS after_sent,
        coalesce(s.after_errored, 0) AS after_errored,
        coalesce(s.after_rejected, 0) AS after_rejected,
        coalesce(s.after_unacknowledged, 0) AS after_unacknowledged,
        coalesce(s.after_duplicate, 0) AS after_duplicate,
        coalesce(s.after_mismatch, 0) AS after_mismatch,
        coalesce(s.after_unmatched, 0) AS after_unmatched,
        coalesce(o.overlapping_releases, []) AS overlapping_releases
    FROM judged_release AS r
    LEFT JOIN side_count AS s ON s.release_id = r.release_id
    LEFT JOIN overlap AS o ON o.release_id = r.release_id
)

SELECT * FROM final ORDER BY deployed_at, release_id
