-- name: macro_entered_as_of
-- Scalar macros over an enrollment_milestones row: the time it entered accepted_834 and paid as
-- of as_of_t, with the clamps of enrollment_stages(as_of_t), for a row known to have reached that
-- stage by as_of_t (reached_<stage>_by <= as_of_t). From the 834's acceptance on, the time depends
-- on as_of_t: the earliest acknowledgement among the acceptances known by then (an acceptance
-- whose acknowledgement is stamped early is known only once its 834 is sent). Callers evaluate
-- them only for the rows that need them (inside a CASE), not for every enrollment.
-- params: none
CREATE OR REPLACE MACRO accepted_834_entered_as_of(
    as_of_t, reached_sent_834_by, accepted_last_known, accepted_min_value, accepted_events
) AS greatest(
    reached_sent_834_by,
    CASE
        WHEN accepted_last_known <= as_of_t THEN accepted_min_value
        ELSE list_min([e.v FOR e IN accepted_events IF e.k <= as_of_t])
    END
);

CREATE OR REPLACE MACRO reached_payment_entered_as_of(entered_accepted_834, first_reached_payment, responsible_cents) AS
payment_stage_entered(entered_accepted_834, first_reached_payment, responsible_cents);

CREATE OR REPLACE MACRO paid_entered_as_of(entered_accepted_834, first_reached_payment, first_paid, responsible_cents) AS
payment_stage_entered(
    payment_stage_entered(entered_accepted_834, first_reached_payment, responsible_cents),
    first_paid,
    responsible_cents
);
