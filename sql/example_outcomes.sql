-- example_outcomes: one row per (model, benchmark, example) of the latest complete computed run:
-- example_outcomes_history filtered on latest_runs. The per-example rules (strict, judge-tie-credit,
-- rb2-top-share, judgebench-both-orders, rb2-ties) are written once, in example_outcomes_history.
-- correct: every chosen response scores strictly above every rejected one (pointwise), or the judge's
-- credit is 1 (true) or 0 (false; NULL for anything between); margin: min(chosen) - max(rejected)
-- (NULL for judges); credit: by the subset's rule, subset_accuracy = avg(credit);
-- credit_both_orders: JudgeBench's both-orders rule; order_consistent: a judge's verdicts agree in
-- both orders (NULL for pointwise models).
with final as (
    select
        history.model,
        history.benchmark,
        history.subset,
        history.example_id,
        history.correct,
        history.margin,
        history.credit,
        history.credit_both_orders,
        history.order_consistent
    from example_outcomes_history as history
    inner join latest_runs as latest
        on latest.model = history.model
        and latest.benchmark = history.benchmark
        and latest.run_id = history.run_id
)

select * from final
