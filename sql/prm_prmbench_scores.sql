{% import 'macros/prm_rules.sql' as prm with context -%}
-- prm_prmbench_scores: per (process reward model, benchmark of step rule `prmbench`): one row per
-- category (scope `category`), the pooled overall (`overall`) and each group (`group`), with the step
-- outcome counts, F1, negative F1 and PRMScore (fractions in [0, 1]; the paper prints percentages).
-- Rule (ssmisya/PRMBench prmtest_classified/task.py:248-294, 166-174, 200-235; PRMScore:
-- mr_visualize/.../form_latex_strs.ipynb): a step is judged correct (positive) when its score is above
-- the catalog's threshold; an error step judged correct is FP, judged wrong TN; any other step judged
-- correct TP, judged wrong FN; only scored steps count, so an error step past a solution's end counts
-- nowhere. Counts are summed per category, and over every category in the overall (not the
-- `outside_overall` ones, PRMBench's clean `correct` items) for the overall. F1 from (TP, FP, FN),
-- negative F1 from (TN, FN, FP), -1 on a zero denominator; PRMScore = max(0, (F1 + F1_neg) / 2), or
-- max(0, F1) for an `f1_only` category (multi_solutions: no error steps). A group's score is the plain
-- mean of its categories' PRMScores. complete: every category it needs scored in full
-- (prm_subset_coverage).
with scoring as (
    select benchmark, threshold
    from step_scoring
    where rule = 'prmbench'
),

categories as (
    select
        step_scores.model,
        step_scores.benchmark,
        'category' as scope,
        step_scores.subset as name,
        count(*) filter (where step_scores.label <> 'error' and step_scores.score > scoring.threshold) as tp,
        count(*) filter (where step_scores.label = 'error' and step_scores.score > scoring.threshold) as fp,
        count(*) filter (where step_scores.label = 'error' and step_scores.score <= scoring.threshold) as tn,
        count(*) filter (where step_scores.label <> 'error' and step_scores.score <= scoring.threshold) as fn
    from prm_step_scores as step_scores
    inner join scoring
        on scoring.benchmark = step_scores.benchmark
    where step_scores.score is not null
    group by step_scores.model, step_scores.benchmark, step_scores.subset
),

with_subsets as (
    select
        categories.*,
        subsets.f1_only,
        subsets.in_overall,
        coverage.complete,
        coverage.missing
    from categories
    inner join step_subsets as subsets
        on subsets.benchmark = categories.benchmark
        and subsets.subset = categories.name
    left join prm_subset_coverage as coverage
        on coverage.model = categories.model
        and coverage.benchmark = categories.benchmark
        and coverage.subset = categories.name
),

pooled as (
    select
        coverage.model,
        coverage.benchmark,
        'overall' as scope,
        'overall' as name,
        sum(with_subsets.tp) as tp,
        sum(with_subsets.fp) as fp,
        sum(with_subsets.tn) as tn,
        sum(with_subsets.fn) as fn,
        false as f1_only,
        true as in_overall,
        bool_and(coverage.complete) as complete,
        string_agg(coverage.missing, '; ' order by coverage.subset) as missing
    from prm_subset_coverage as coverage
    inner join step_subsets as subsets
        on subsets.benchmark = coverage.benchmark
        and subsets.subset = coverage.subset
        and subsets.in_overall
    inner join scoring
        on scoring.benchmark = coverage.benchmark
    left join with_subsets
        on with_subsets.model = coverage.model
        and with_subsets.benchmark = coverage.benchmark
        and with_subsets.name = coverage.subset
    group by coverage.model, coverage.benchmark
),

scored as (
    select
        *,
        {{ prm.upstream_f1('tp', 'fp', 'fn') }} as f1,
        {{ prm.upstream_f1('tn', 'fn', 'fp') }} as f1_neg
    from (select * from with_subsets union all by name select * from pooled)
),

with_prmscore as (
    select
        *,
        greatest(0, case when f1_only then f1 else 0.5 * f1 + 0.5 * f1_neg end) as prmscore
    from scored
),

groups as (
    select
        coverage.model,
        coverage.benchmark,
        'group' as scope,
        step_groups.group_name as name,
        avg(with_prmscore.prmscore) as prmscore,
        bool_and(coverage.complete) as complete,
        string_agg(coverage.missing, '; ' order by coverage.subset) as missing
    from step_groups
    inner join prm_subset_coverage as coverage
        on coverage.benchmark = step_groups.benchmark
        and coverage.subset = step_groups.subset
    left join with_prmscore
        on with_prmscore.model = coverage.model
        and with_prmscore.benchmark = coverage.benchmark
        and with_prmscore.scope = 'category'
        and with_prmscore.name = coverage.subset
    group by coverage.model, coverage.benchmark, step_groups.group_name
),

final as (
    select model, benchmark, scope, name, tp, fp, tn, fn, f1, f1_neg, prmscore, complete, missing
    from with_prmscore
    union all by name
    select * from groups
)

select * from final
