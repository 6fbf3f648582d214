-- a model page's subsets ($model): the score (the accuracy; RewardBench 2's Ties: its Ties score) with its bootstrap interval, the best null baseline and the
-- margin over it, and the published (imported, latest) models' scores on the subset beside it.
with published as (
    select
        accuracy.benchmark,
        accuracy.subset,
        string_agg(accuracy.model || ' ' || round(accuracy.score, 4), '; ' order by accuracy.model)
            as published
    from subset_accuracy as accuracy
    inner join runs_history as runs
        on runs.model = accuracy.model and runs.benchmark = accuracy.benchmark and runs.is_latest
    where runs.provenance = 'imported' and accuracy.model <> $model
    group by all
)

select
    accuracy.benchmark,
    accuracy.subset,
    accuracy.n,
    accuracy.score,
    ci.ci_low,
    ci.ci_high,
    ci.no_interval,
    nulls.best_null_model,
    nulls.best_null_accuracy,
    nulls.margin,
    published.published
from subset_accuracy as accuracy
left join subset_accuracy_ci as ci using (model, benchmark, subset)
left join above_null_baseline as nulls using (model, benchmark, subset)
left join published using (benchmark, subset)
where accuracy.model = $model
order by 1, 2
