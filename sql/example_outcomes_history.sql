-- example_outcomes_history: one row per (model, run, benchmark, example) of every complete computed
-- run (runs_history), keyed by (model, run_id, ended_at). example_outcomes is its latest-run filter.
-- Rule (RewardBench utils.py, RMB my_run_rm.py): an example is correct when every chosen response
-- scores strictly above every rejected one, i.e. min(chosen) > max(rejected); a tie is wrong.
-- margin = min(chosen) - max(rejected). Examples with no rejected response (messages-only files)
-- and examples with any unscored response get correct = NULL (never counted as right or wrong).
-- credit (what the example adds to subset accuracy) = correct::double; credit_both_orders likewise;
-- order_consistent is NULL (a pointwise model sees no A/B order). Judge runs (pairwise-judge,
-- generative) are not scored but judged: their rows, with credit 0.5 for a tie, come from
-- judge_outcomes_history.
-- The warehouse file stores this view as a table (warehouse.MATERIALIZED), built with the file.
with responses_scored as (
    select
        runs.model,
        runs.run_id,
        runs.ended_at,
        responses.benchmark,
        responses.example_id,
        responses.label,
        scores.score
    from runs_history as runs
    inner join responses
        on responses.benchmark = runs.benchmark
    left join scores
        on scores.run_id = runs.run_id
        and scores.response_id = responses.response_id
    where runs.provenance = 'computed'
        and coalesce(runs.model_type not in ('pairwise-judge', 'generative'), true)
),

per_example as (
    select
        model,
        run_id,
        ended_at,
        benchmark,
        example_id,
        min(score) filter (where label = 'chosen') as worst_chosen,
        max(score) filter (where label = 'rejected') as best_rejected,
        count(*) filter (where label = 'rejected') as n_rejected,
        bool_and(score is not null) as fully_scored
    from responses_scored
    group by model, run_id, ended_at, benchmark, example_id
),

pointwise_outcomes as (
    select
        per_example.model,
        per_example.run_id,
        per_example.ended_at,
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
),

final as (
    select
        *,
        correct::double as credit,
        correct::double as credit_both_orders,
        null::boolean as order_consistent
    from pointwise_outcomes
    union all by name
    select * from judge_outcomes_history
)

select * from final
