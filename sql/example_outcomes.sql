-- example_outcomes: one row per (model, benchmark, example) of the latest complete run.
-- Rule (RewardBench utils.py, RMB my_run_rm.py): an example is correct when every chosen response
-- scores strictly above every rejected one, i.e. min(chosen) > max(rejected); a tie is wrong.
-- margin = min(chosen) - max(rejected). Examples with no rejected response (messages-only files)
-- and examples with any unscored response get correct = NULL (never counted as right or wrong).
with responses_scored as (
    select
        latest.model,
        responses.benchmark,
        responses.example_id,
        responses.label,
        scores.score
    from latest_runs as latest
    inner join responses
        on responses.benchmark = latest.benchmark
    left join scores
        on scores.run_id = latest.run_id
        and scores.response_id = responses.response_id
),

per_example as (
    select
        model,
        benchmark,
        example_id,
        min(score) filter (where label = 'chosen') as worst_chosen,
        max(score) filter (where label = 'rejected') as best_rejected,
        count(*) filter (where label = 'rejected') as n_rejected,
        bool_and(score is not null) as fully_scored
    from responses_scored
    group by model, benchmark, example_id
),

final as (
    select
        per_example.model,
        per_example.benchmark,
        examples.subset,
        per_example.example_id,
        case
            when not per_example.fully_scored or per_example.n_rejected = 0 then null
            else per_example.worst_chosen > per_example.best_rejected
        end as correct,
        per_example.worst_chosen - per_example.best_rejected as margin
    from per_example
    inner join examples
        on examples.benchmark = per_example.benchmark
        and examples.example_id = per_example.example_id
)

select * from final
