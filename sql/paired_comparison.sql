-- paired_comparison: two models on the same examples, per (model pair, benchmark, subset): the
-- examples both scored (latest runs, example_outcomes), those only A got right and those only B got.
-- Rule: McNemar's exact test (two-sided): under H0 each discordant example is A's or B's with
-- probability 1/2, so p_value = min(1, 2 x P(X <= min(a_only, b_only))), X ~ Binomial(a_only + b_only,
-- 1/2), summed in log space (lgamma) for large counts; p_value = 1 when there is no discordant example.
-- p_adjusted: Holm's step-down correction (family-wise error) across the subsets of one model pair
-- and benchmark: the running maximum of min(1, (m - rank + 1) x p) in ascending order of p.
-- Every ordered pair appears (A, B and B, A); filter on model_a and model_b to read one pair.
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
        case
            when a_only + b_only = 0 then 1.0
            else least(
                1.0,
                2 * list_sum([
                    exp(
                        lgamma(a_only + b_only + 1) - lgamma(k + 1) - lgamma(a_only + b_only - k + 1)
                        - (a_only + b_only) * ln(2)
                    )
                    for k in range(0, least(a_only, b_only) + 1)
                ])
            )
        end as p_value
    from paired
),

ranked as (
    select
        *,
        row_number() over (partition by model_a, model_b, benchmark order by p_value, subset) as p_rank,
        count(*) over (partition by model_a, model_b, benchmark) as family_size
    from tested
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
        max(least(1.0, (family_size - p_rank + 1) * p_value)) over (
            partition by model_a, model_b, benchmark order by p_rank
        ) as p_adjusted,
        (both_correct + a_only) / n_both as accuracy_a,
        (both_correct + b_only) / n_both as accuracy_b
    from ranked
)

select * from final
