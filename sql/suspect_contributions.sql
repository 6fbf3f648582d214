-- suspect_contributions: what each model adds to suspect_labels (the rule is stated there), one row per
-- (model, benchmark, subset, example) its latest run decided: is_right (1 or 0) and the model's weight on
-- the example, its accuracy on the rest of the example's subset. Every row belongs to one model and reads
-- only that model's outcomes, so the warehouse stores it per model (views.MATERIALIZED): an incremental
-- update recomputes the touched models' rows only, and suspect_labels re-sums them.
-- Models: the latest run of each model (run_outcomes.is_latest, computed or imported per-example files),
-- null baselines and offline ensembles left out (not independent models); decided examples only.
with outcomes as (
    select model, benchmark, subset, example_id, correct::int as is_right
    from run_outcomes
    where is_latest
        and correct is not null
        and coalesce(model_type not in ('baseline', 'ensemble'), true)
),

subset_totals as (
    select model, benchmark, subset, sum(is_right) as n_right, count(*) as n
    from outcomes
    group by model, benchmark, subset
),

final as (
    select
        outcomes.*,
        case when totals.n > 1 then (totals.n_right - outcomes.is_right) / (totals.n - 1) end as weight
    from outcomes
    inner join subset_totals as totals
        on totals.model = outcomes.model
        and totals.benchmark = outcomes.benchmark
        and totals.subset = outcomes.subset
)

select * from final
