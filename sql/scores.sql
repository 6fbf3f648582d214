-- scores: one score per (model, response_id), the one the model's latest complete computed run of the
-- response's benchmark reads (latest_runs; the most recent one when the response is in several).
-- Rule (SPEC "Scores", "views use the latest complete run per model unless asked"): every score of
-- every run is in run_scores; every score ever stored, once per (model, settings key), in stored_scores.
-- run_id is the latest run; scored_in_run the run that computed the score (reused when they differ).
with latest as (
    select distinct
        latest_runs.model,
        latest_runs.run_id,
        latest_runs.ended_at,
        responses.response_id
    from latest_runs
    inner join responses
        on responses.benchmark = latest_runs.benchmark
),

ranked as (
    select
        run_scores.*,
        row_number() over (
            partition by run_scores.model, run_scores.response_id
            order by latest.ended_at desc, latest.run_id desc
        ) as preference
    from latest
    inner join run_scores
        on run_scores.run_id = latest.run_id
        and run_scores.response_id = latest.response_id
),

final as (
    select * exclude (preference)
    from ranked
    where preference = 1
)

select * from final
