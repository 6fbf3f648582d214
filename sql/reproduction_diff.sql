-- reproduction_diff: per (run A, run B, benchmark, subset), over the examples both runs decided
-- (reproduction_examples): how often they agree and whether their accuracies differ.
-- agreement = examples with the same outcome / n_both; a_only / b_only = examples only A / only B got
-- right; difference = accuracy_a - accuracy_b = (a_only - b_only) / n_both.
-- Paired 95% interval of the difference (Wald, for two proportions on the same examples):
-- difference +- z x sqrt(((a_only + b_only) / n - difference^2) / n), z = 1.959963984540054 (the
-- normal's 97.5% quantile). p_value: McNemar's exact test on (a_only, b_only); p_adjusted: Holm's
-- correction across the subsets of one run pair and benchmark (both written once, macros/stats.sql,
-- as paired_comparison uses them). Filter on run_a and run_b.
{% import 'macros/stats.sql' as stats %}
with paired as (
    select
        run_a,
        run_b,
        any_value(model_a) as model_a,
        any_value(model_b) as model_b,
        benchmark,
        subset,
        count(*) as n_both,
        count(*) filter (where agree) as n_agree,
        count(*) filter (where correct_a and not correct_b) as a_only,
        count(*) filter (where correct_b and not correct_a) as b_only,
        avg(correct_a::int) as accuracy_a,
        avg(correct_b::int) as accuracy_b,
        max(abs(margin_change)) as largest_margin_change
    from reproduction_examples
    group by run_a, run_b, benchmark, subset
),

tested as (
    select
        *,
        n_agree / n_both as agreement,
        (a_only - b_only) / n_both as difference,
        1.959963984540054 * sqrt(greatest(0.0, (a_only + b_only) / n_both - ((a_only - b_only) / n_both) ^ 2) / n_both)
            as half_width,
        {{ stats.mcnemar_p_value('a_only', 'b_only') }} as p_value
    from paired
),

adjusted as (
    {{ stats.holm_adjusted('tested', 'p_value', ['run_a', 'run_b', 'benchmark'], 'subset') }}
),

final as (
    select
        run_a,
        run_b,
        model_a,
        model_b,
        benchmark,
        subset,
        n_both,
        n_agree,
        agreement,
        a_only,
        b_only,
        accuracy_a,
        accuracy_b,
        difference,
        difference - half_width as difference_low,
        difference + half_width as difference_high,
        largest_margin_change,
        p_value,
        p_adjusted
    from adjusted
)

select * from final
