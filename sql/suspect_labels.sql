-- suspect_labels: per benchmark example, how many models got it wrong, weighted by how good each model
-- is elsewhere: a label most strong models contradict may be wrong (reward-bench #88).
-- Models: the latest run of each model (run_outcomes.is_latest, computed or imported per-example files),
-- null baselines and offline ensembles left out (not independent models); decided examples only.
-- Rule: weight of a model = its accuracy on the rest of the example's subset, (right in the subset -
-- right here) / (n in the subset - 1) (a model with one example in the subset gives no weight);
-- weighted_wrong = sum(weight x wrong) / sum(weight); contradicted: weighted_wrong > 0.5 (most of the
-- weight says the rejected response is the better one). suspect: contradicted, once at least
-- min_models models scored it (the catalog's `suspect_min_models`; answers.suspects(min_models=)
-- asks with another threshold).
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

weighted as (
    select
        outcomes.*,
        case when totals.n > 1 then (totals.n_right - outcomes.is_right) / (totals.n - 1) end as weight
    from outcomes
    inner join subset_totals as totals
        on totals.model = outcomes.model
        and totals.benchmark = outcomes.benchmark
        and totals.subset = outcomes.subset
),

per_example as (
    select
        benchmark,
        subset,
        example_id,
        count(*) as n_models,
        count(*) filter (where is_right = 0) as n_wrong,
        sum(weight * (1 - is_right)) / nullif(sum(weight), 0) as weighted_wrong
    from weighted
    group by benchmark, subset, example_id
),

final as (
    select
        per_example.*,
        benchmarks.suspect_min_models as min_models,
        coalesce(per_example.weighted_wrong > 0.5, false) as contradicted,
        contradicted and per_example.n_models >= benchmarks.suspect_min_models as suspect
    from per_example
    inner join benchmarks
        on benchmarks.benchmark = per_example.benchmark
)

select * from final
