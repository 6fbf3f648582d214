-- The invariance audit's answer-order check for a judge (rb_pipeline/engine/audit.py): per audited run
-- (the baseline's included) and subset, the examples whose verdicts differ between the two answer orders
-- (position flips): example_outcomes_history's order_consistent false, the rule stated once in
-- judge_outcomes_history.sql (judge_health's order_agreement is its share of true), counted and listed.
-- Examples with no order check (order_consistent NULL: a scorer's, a rated or a not fully judged
-- example) are left out, so a scorer's audit has no row here.
-- `runs`: the parameter names of the audit's run ids (answers.audit_orders).
{% import 'queries/answers/parameters.sql' as parameters %}
with checked as (
    select run_id, benchmark, subset, example_id, not order_consistent as position_flip
    from example_outcomes_history
    where run_id in ({{ parameters.listed(runs) }}) and order_consistent is not null
),

final as (
    select
        run_id,
        benchmark,
        subset,
        count(*) as n_examples,
        count(*) filter (where position_flip) as position_flips,
        coalesce(list(example_id order by example_id) filter (where position_flip), []) as flipped_examples
    from checked
    group by run_id, benchmark, subset
)

select * from final
