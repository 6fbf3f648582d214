-- example_outcomes: one row per (model, benchmark, example) of the latest complete computed run:
-- example_outcomes_history filtered on latest_runs. The per-example rules are written once: their
-- prose in catalog.RULES (table scoring_rules), their SQL in the credit macro (macros/rules.sql).
-- correct: every chosen response scores strictly above every rejected one (pointwise), or the judge's
-- credit is 1 (true) or 0 (false; NULL for anything between); margin: min(chosen) - max(rejected)
-- (NULL for judges); credit: by the subset's rule, subset_accuracy = avg(credit);
-- credit_both_orders: JudgeBench's both-orders rule; order_consistent: a judge's verdicts agree in
-- both orders (NULL for pointwise models).
{% import 'macros/latest.sql' as latest %}
with final as (
    {{ latest.latest_rows('example_outcomes_history', ['model', 'benchmark', 'subset', 'example_id', 'correct', 'margin', 'credit', 'credit_both_orders', 'order_consistent'], runs='latest_runs') }}
)

select * from final
