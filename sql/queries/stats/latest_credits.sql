-- bootstrap: the credits behind subset_accuracy, one row per example of the latest run of each
-- (model, benchmark): computed outcomes, or the outcomes of a latest imported run.
with computed as (
    select model, benchmark, subset, credit from example_outcomes where credit is not null
),

imported as (
    select outcomes.model, outcomes.benchmark, outcomes.subset, outcomes.credit
    from imported_outcomes as outcomes
    inner join runs_history as runs
        on runs.run_id = outcomes.run_id and runs.model = outcomes.model
        and runs.benchmark = outcomes.benchmark
    where runs.is_latest and runs.provenance = 'imported' and outcomes.credit is not null
)

select * from computed
union all
select * from imported
