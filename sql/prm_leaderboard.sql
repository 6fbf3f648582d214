-- prm_leaderboard: one row per process reward model: per step-level benchmark its overall score, its
-- groups' scores and the threshold it used, as columns named by the catalog (`prm_columns`:
-- `<benchmark>`, `<benchmark>_<group>`, `<benchmark>_threshold`); fractions in [0, 1].
-- Rule: PRMBench's overall and group PRMScores (prm_prmbench_scores); ProcessBench's overall is the
-- plain mean of its subsets' F1s (PR #12 run_eval_prm_trl.py:168; paper Table 3 "Average"). A score
-- is shown only when every subset it needs was scored in full; `coverage` names what is missing
-- (prm_subset_coverage). The threshold is shown whenever the benchmark was scored.
with processbench_overall as (
    select
        coverage.model,
        coverage.benchmark,
        'overall' as scope,
        'overall' as name,
        avg(subsets.f1) as score,
        bool_and(coverage.complete) as complete
    from prm_subset_coverage as coverage
    inner join step_scoring
        on step_scoring.benchmark = coverage.benchmark
        and step_scoring.rule = 'processbench'
    left join prm_processbench_scores as subsets
        on subsets.model = coverage.model
        and subsets.benchmark = coverage.benchmark
        and subsets.subset = coverage.subset
    group by coverage.model, coverage.benchmark
),

processbench_threshold as (
    select model, benchmark, 'threshold' as scope, 'threshold' as name, any_value(threshold) as score, true as complete
    from prm_processbench_scores
    group by model, benchmark
),

prmbench_rows as (
    select model, benchmark, scope, name, prmscore as score, complete
    from prm_prmbench_scores
    where scope in ('overall', 'group')
    union all
    select distinct model, benchmark, 'threshold' as scope, 'threshold' as name, step_scoring.threshold as score, true as complete
    from prm_prmbench_scores
    inner join step_scoring using (benchmark)
),

long as (
    select * from processbench_overall
    union all
    select * from processbench_threshold
    union all
    select * from prmbench_rows
),

coverage as (
    select
        model,
        count(*) filter (where complete) || '/' || count(*) || ' subsets in full'
        || coalesce('; missing: ' || string_agg(missing, '; ' order by benchmark, subset), '') as coverage
    from prm_subset_coverage
    group by model
),

final as (
    select
        long.model,
        {%- for column in prm_columns %}
        max(long.score) filter (
            where long.benchmark = '{{ column.benchmark }}' and long.scope = '{{ column.scope }}'
            and long.name = '{{ column.name }}' and long.complete
        ) as {{ column.column }},
        {%- endfor %}
        any_value(coverage.coverage) as coverage
    from long
    left join coverage
        on coverage.model = long.model
    group by long.model
)

select * from final
