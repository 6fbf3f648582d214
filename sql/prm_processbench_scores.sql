{% import 'macros/prm_rules.sql' as prm with context -%}
-- prm_processbench_scores: per (process reward model, benchmark of step rule `processbench`, subset):
-- ProcessBench's accuracies and F1 (fractions in [0, 1]; the paper prints percentages).
-- Rule (QwenLM/ProcessBench run_eval.py:112-129; paper §4.1): a step is judged correct when its score
-- is above the threshold tau; the prediction is the first step not judged correct, -1 when every step
-- is; it is right only when it equals the label (the earliest wrong step, -1: none) exactly.
-- acc_err = mean(right | label <> -1), acc_cor = mean(right | label = -1), f1 = their harmonic mean.
-- tau: the catalog's `threshold`, else (`threshold_from`) the candidate with the best F1 on that subset
-- (the paper: on GSM8K), then used on every subset; ties go to the smaller tau. The candidates are every
-- step score on that subset and one below them all: any tau between two scores predicts as the lower.
-- Only scored solutions count (coverage: prm_subset_coverage).
with scoring as (
    select benchmark, threshold, threshold_from
    from step_scoring
    where rule = 'processbench'
),

step_scores as (
    select step_scores.*, scoring.threshold_from
    from prm_step_scores as step_scores
    inner join scoring
        on scoring.benchmark = step_scores.benchmark
),

solutions as (
    -- the prediction equals the label L >= 0 exactly when score(L) <= tau < the score of every earlier
    -- step, and equals -1 when tau < every score: right exactly when lo <= tau < hi
    select
        model,
        benchmark,
        subset,
        example_id,
        any_value(first_error) as label,
        case
            when any_value(first_error) = -1 then '-infinity'::double
            else max(score) filter (where step = first_error)
        end as lo,
        coalesce(min(score) filter (where first_error = -1 or step < first_error), 'infinity'::double) as hi
    from step_scores
    where solution_scored
    group by model, benchmark, subset, example_id
),

candidates as (
    select distinct models.model, models.benchmark, scoring.threshold as tau
    from (select distinct model, benchmark from step_scores) as models
    inner join scoring
        on scoring.benchmark = models.benchmark
    where scoring.threshold is not null
    union
    select model, benchmark, score as tau
    from step_scores
    where subset = threshold_from and score is not null
    union
    select model, benchmark, min(score) - 1 as tau
    from step_scores
    where subset = threshold_from
    group by model, benchmark
),

by_threshold as (
    select
        candidates.model,
        candidates.benchmark,
        solutions.subset,
        candidates.tau,
        count(*) filter (where solutions.label <> -1) as n_error,
        count(*) filter (where solutions.label = -1) as n_correct,
        avg(coalesce(solutions.lo <= candidates.tau and candidates.tau < solutions.hi, false)::int)
            filter (where solutions.label <> -1) as acc_err,
        avg(coalesce(solutions.lo <= candidates.tau and candidates.tau < solutions.hi, false)::int)
            filter (where solutions.label = -1) as acc_cor
    from candidates
    inner join solutions
        on solutions.model = candidates.model
        and solutions.benchmark = candidates.benchmark
    group by candidates.model, candidates.benchmark, solutions.subset, candidates.tau
),

with_f1 as (
    select *, {{ prm.harmonic_mean('acc_err', 'acc_cor') }} as f1
    from by_threshold
),

chosen as (
    select model, benchmark, tau
    from (
        select
            with_f1.model,
            with_f1.benchmark,
            with_f1.tau,
            row_number() over (
                partition by with_f1.model, with_f1.benchmark order by with_f1.f1 desc nulls last, with_f1.tau
            ) as preference
        from with_f1
        inner join scoring
            on scoring.benchmark = with_f1.benchmark
        where with_f1.subset = coalesce(scoring.threshold_from, with_f1.subset)
    )
    where preference = 1
),

final as (
    select
        with_f1.model,
        with_f1.benchmark,
        with_f1.subset,
        with_f1.n_error,
        with_f1.n_correct,
        with_f1.acc_err,
        with_f1.acc_cor,
        with_f1.f1,
        with_f1.tau as threshold,
        scoring.threshold_from as threshold_chosen_on,
        coverage.complete,
        coverage.missing
    from with_f1
    inner join chosen
        on chosen.model = with_f1.model
        and chosen.benchmark = with_f1.benchmark
        and chosen.tau = with_f1.tau
    inner join scoring
        on scoring.benchmark = with_f1.benchmark
    left join prm_subset_coverage as coverage
        on coverage.model = with_f1.model
        and coverage.benchmark = with_f1.benchmark
        and coverage.subset = with_f1.subset
)

select * from final
