-- subset_accuracy: per (model, benchmark, subset) n, accuracy and score. score = the subset's score by
-- its catalog rule: the accuracy, except for rb2-ties (RewardBench 2's Ties score, in [-0.01, 1.01]),
-- whose accuracy is NULL. accuracy = avg(credit) over the subset's scored examples, a fraction in [0, 1]
-- (RewardBench: per-subset accuracy; RMB: per-scenario accuracy): correct / scored for pointwise
-- models; judges get 0.5 for a tie or unparseable verdict (RewardBench's generative rule). Examples
-- whose credit is NULL (messages-only) are not counted in n. Judges' accuracy_both_orders
-- (JudgeBench's rule) and order_consistency are columns of subset_accuracy_history (this view keeps
-- SPEC's five columns, with score the sixth).
-- Rule (which source, per model x benchmark): computed outcomes when the model has a complete
-- computed run for the benchmark (its latest); else the metrics of its latest complete imported run
-- (`rb-pipeline import`: imported_metrics, where n = the file's rows, or NULL for per-subset metrics
-- files (counts unknown: "published metrics"), and accuracy or score = the file's own number). The two are never mixed
-- within one (model, benchmark). The rules live in subset_accuracy_history; the run chosen per
-- (model, benchmark) is runs_history's is_latest.
{% import 'macros/latest.sql' as latest %}
with final as (
    {{ latest.latest_rows('subset_accuracy_history', ['model', 'benchmark', 'subset', 'n', 'accuracy', 'score']) }}
)

select * from final
