-- hub export, scores.parquet: one row per example of the model's latest complete run per benchmark,
-- its outcome (example_outcomes: the subset's rule) beside the texts and scores of its responses.
with latest as (
    select benchmark, run_id from latest_runs where model = $model
),

scored as (
    select
        responses.benchmark,
        responses.example_id,
        responses.response_id,
        responses.position,
        responses.label,
        responses.text,
        scores.score
    from latest
    inner join responses on responses.benchmark = latest.benchmark
    left join run_scores as scores
        on scores.run_id = latest.run_id
        and scores.response_id = responses.response_id
),

per_example as (
    select
        benchmark,
        example_id,
        list(response_id order by position) filter (where label = 'chosen') as chosen_ids,
        list(text order by position) filter (where label = 'chosen') as chosen_texts,
        list(score order by position) filter (where label = 'chosen') as chosen_scores,
        list(response_id order by position) filter (where label = 'rejected') as rejected_ids,
        list(text order by position) filter (where label = 'rejected') as rejected_texts,
        list(score order by position) filter (where label = 'rejected') as rejected_scores
    from scored
    group by benchmark, example_id
)

select
    outcomes.benchmark,
    outcomes.subset,
    outcomes.example_id,
    latest.run_id,
    outcomes.correct,
    outcomes.margin,
    examples.prompt,
    coalesce(per_example.chosen_ids, []::varchar[]) as chosen_ids,
    coalesce(per_example.chosen_texts, []::varchar[]) as chosen_texts,
    coalesce(per_example.chosen_scores, []::double[]) as chosen_scores,
    coalesce(per_example.rejected_ids, []::varchar[]) as rejected_ids,
    coalesce(per_example.rejected_texts, []::varchar[]) as rejected_texts,
    coalesce(per_example.rejected_scores, []::double[]) as rejected_scores
from example_outcomes as outcomes
inner join latest on latest.benchmark = outcomes.benchmark
inner join per_example
    on per_example.benchmark = outcomes.benchmark
    and per_example.example_id = outcomes.example_id
inner join examples
    on examples.benchmark = outcomes.benchmark
    and examples.example_id = outcomes.example_id
where outcomes.model = $model
order by outcomes.benchmark, outcomes.subset, outcomes.example_id
