-- name: macro_error_counts
-- Aggregate macro error_counts(in_scope, o): over the rows where in_scope holds, of outbound 834s
-- o with the flags of outbound_834_status, a struct of sent (the rows), errored and the count of
-- each of the five error categories (one 834 may be in several). The one definition of these
-- counts: expand it with COLUMNS(counts.*), prefixed with AS 'before_\0' where needed.
-- params: none
CREATE OR REPLACE MACRO error_counts(in_scope, o) AS struct_pack(
    sent := count(*) FILTER (WHERE in_scope),
    errored := count(*) FILTER (WHERE in_scope AND o.is_errored),
    rejected := count(*) FILTER (WHERE in_scope AND o.is_rejected),
    unacknowledged := count(*) FILTER (WHERE in_scope AND o.is_unacknowledged),
    duplicate := count(*) FILTER (WHERE in_scope AND o.is_duplicate),
    mismatch := count(*) FILTER (WHERE in_scope AND o.is_mismatch),
    unmatched := count(*) FILTER (WHERE in_scope AND o.is_unmatched)
)
