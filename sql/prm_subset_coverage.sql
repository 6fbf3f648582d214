-- prm_subset_coverage: per (process reward model, step-level benchmark, subset) how many solutions its
-- latest run scored. Rule (SPEC "every score shown says what it covers"): a subset is complete when
-- every materialized solution is scored and the solutions plus the quarantined rows reach the
-- catalog's expected rows; `missing` says `subset (scored/expected)` otherwise.
with solutions as (
    select model, benchmark, subset, example_id, bool_and(solution_scored) as scored
    from prm_step_scores
    group by model, benchmark, subset, example_id
),

counted as (
    select model, benchmark, subset, count(*) as n_solutions, count(*) filter (where scored) as n_scored
    from solutions
    group by model, benchmark, subset
),

rejected as (
    select benchmark, subset, count(*) as n_rejected
    from rejects
    group by benchmark, subset
),

models as (
    select distinct model, benchmark from prm_step_scores
),

covered as (
    select
        models.model,
        models.benchmark,
        subsets.subset,
        coalesce(counted.n_solutions, 0) as n_solutions,
        coalesce(counted.n_scored, 0) as n_scored,
        subsets.expected_rows,
        coalesce(rejected.n_rejected, 0) as n_rejected,
        coalesce(
            counted.n_scored = counted.n_solutions
            and counted.n_solutions + coalesce(rejected.n_rejected, 0) >= coalesce(subsets.expected_rows, 0),
            false
        ) as complete
    from models
    inner join step_subsets as subsets
        on subsets.benchmark = models.benchmark
    left join counted
        on counted.model = models.model
        and counted.benchmark = models.benchmark
        and counted.subset = subsets.subset
    left join rejected
        on rejected.benchmark = subsets.benchmark
        and rejected.subset = subsets.subset
),

final as (
    select
        *,
        case
            when not complete then
                benchmark || '/' || subset || ' (' || n_scored || '/'
                || coalesce(expected_rows - n_rejected, n_solutions) || ')'
        end as missing
    from covered
)

select * from final
