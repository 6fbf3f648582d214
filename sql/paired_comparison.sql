-- paired_comparison: two models on the same examples, per (model pair, benchmark, subset): the
-- examples both scored (latest runs, example_outcomes), those only A got right and those only B got.
-- Rule: p_value = McNemar's exact two-sided test on (a_only, b_only); p_adjusted = Holm's step-down
-- correction across the subsets of one model pair and benchmark. Both are written once, in
-- macros/stats.sql (reproduction_diff uses them too).
-- Every ordered pair appears (A, B and B, A); filter on model_a and model_b to read one pair.
{% import 'macros/stats.sql' as stats %}
with outcomes as (
    select model, benchmark, subset, example_id, correct
    from example_outcomes
    where correct is not null
),

paired as (
    select
        a.model as model_a,
        b.model as model_b,
        a.benchmark,
        a.subset,
        count(*) as n_both,
        count(*) filter (where a.correct and b.correct) as both_correct,
        count(*) filter (where a.correct and not b.correct) as a_only,
        count(*) filter (where b.correct and not a.correct) as b_only
    from outcomes as a
    inner join outcomes as b
        on b.benchmark = a.benchmark
        and b.example_id = a.example_id
        and b.model <> a.model
    group by a.model, b.model, a.benchmark, a.subset
),

tested as (
    select
        *,
        a_only + b_only as discordant,
        {{ stats.mcnemar_p_value('a_only', 'b_only') }} as p_value
    from paired
),

adjusted as (
    {{ stats.holm_adjusted('tested', 'p_value', ['model_a', 'model_b', 'benchmark'], 'subset') }}
),

final as (
    select
        model_a,
        model_b,
        benchmark,
        subset,
        n_both,
        a_only,
        b_only,
        p_value,
        p_adjusted,
        (both_correct + a_only) / n_both as accuracy_a,
        (both_correct + b_only) / n_both as accuracy_b
    from adjusted
)

select * from final
