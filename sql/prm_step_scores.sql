-- prm_step_scores: one row per (model, benchmark, subset, example, step) of each process reward model's
-- latest complete computed run on a step-level benchmark (runs_history's is_latest): the step's score
-- (its place in the run's score_vector, models/prm.py; NULL when its tag was cut by max_length or the
-- solution has no score) beside its label (correct | error | NULL: unknown, after ProcessBench's
-- earliest wrong step) and its solution's earliest wrong step (first_error, -1: none).
-- The rules over it: prm_processbench_scores, prm_prmbench_scores; coverage: prm_subset_coverage.
with prm_runs as (
    select model, benchmark, run_id
    from runs_history
    where is_latest and provenance = 'computed' and model_type in (select kind from model_kinds where scores_steps)
),

solutions as (
    select
        prm_runs.model,
        prm_runs.run_id,
        solutions.benchmark,
        solutions.subset,
        solutions.example_id,
        solutions.n_steps,
        solutions.first_error,
        scores.score_vector
    from prm_runs
    inner join step_solutions as solutions
        on solutions.benchmark = prm_runs.benchmark
    left join run_scores as scores
        on scores.run_id = prm_runs.run_id
        and scores.response_id = solutions.response_id
),

final as (
    select
        solutions.model,
        solutions.run_id,
        solutions.benchmark,
        solutions.subset,
        solutions.example_id,
        steps.step,
        steps.label,
        solutions.first_error,
        solutions.n_steps,
        solutions.score_vector is not null as solution_scored,
        solutions.score_vector[steps.step + 1] as score
    from solutions
    inner join steps
        on steps.benchmark = solutions.benchmark
        and steps.example_id = solutions.example_id
)

select * from final
