-- example_outcomes: one row per (model, benchmark, example) of the latest complete computed run:
-- example_outcomes_history filtered on latest_runs (the rules, for pointwise models and for judges,
-- are written there and in judge_outcomes_history).
-- correct: every chosen response scores strictly above every rejected one (pointwise), or the judge
-- preferred the chosen one (judges; NULL for a tie or unparseable verdict); margin: min(chosen) -
-- max(rejected) (NULL for judges); credit: 1, 0 or 0.5 (judge ties), subset_accuracy = avg(credit);
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
