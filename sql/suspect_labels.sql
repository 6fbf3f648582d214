-- suspect_labels: per benchmark example, how many models got it wrong, weighted by how good each model
-- is elsewhere: a label most strong models contradict may be wrong (reward-bench #88).
-- Models and each one's right or wrong: suspect_contributions (the latest run of each model, null
-- baselines and offline ensembles left out; decided examples only).
-- Rule: weight of a model = its accuracy on the rest of the example's subset, (right in the subset -
-- right here) / (n in the subset - 1) (a model with one example in the subset gives no weight; computed
-- per model in suspect_contributions); weighted_wrong = sum(weight x wrong) / sum(weight); contradicted:
-- weighted_wrong > 0.5 (most of the weight says the rejected response is the better one). suspect:
-- contradicted, once at least min_models models scored it (the catalog's `suspect_min_models`;
-- answers.suspects(min_models=) asks with another threshold).
-- The sums are exact (weights as DECIMAL(18, 15), summed in DECIMAL(38, 15)), so they do not depend on
-- the order DuckDB's threads add rows in: an incremental update's table is the full rebuild's, bit for
-- bit (a sum of doubles differs in its last bits from one computation to the next).
with per_example as (
    select
        benchmark,
        subset,
        example_id,
        count(*) as n_models,
        count(*) filter (where is_right = 0) as n_wrong,
        sum((weight * (1 - is_right))::decimal(18, 15)) / nullif(sum(weight::decimal(18, 15)), 0)
            as weighted_wrong
    from suspect_contributions
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
