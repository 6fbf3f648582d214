-- judge_ratings: RewardBench 2's `ratings` protocol as per-response scores, one row per (model, run,
-- benchmark, example, response) of every complete computed (or audit) judge run that rated the example
-- (judgments.protocol = 'ratings'; engine/judging.py). score = the judge's 1-10 rating, or -1 where it
-- is unparseable or the call failed: rewardbench/generative_v2.py get_single_rating's value, so that
-- (1) run_generative_v2.py's non-Ties credit, (chosen among the top valid ratings) / (number at the
-- top), 0.25 when every rating is invalid, is the pointwise rb2-top-share rule over these scores (an
-- invalid rating sits below every valid one: dropped from the top; four invalid tie at -1: 1/4), and
-- (2) Ties, which upstream scores from the raw ratings with -1 kept (process_single_model), is the
-- rb2-ties rule over them. example_outcomes_history takes these rows as scores; the rules are there.
-- A response without a rating row (a run that died) has a NULL score: the example is left unscored.
{% import 'macros/run_rules.sql' as run_rules %}
with judge_runs as (
    {{ run_rules.judge_runs() }}
),

rated_examples as (
    select distinct run_id, benchmark, example_id
    from judgments
    where protocol = 'ratings'
),

final as (
    select
        runs.model,
        runs.run_id,
        runs.ended_at,
        responses.benchmark,
        responses.example_id,
        responses.response_id,
        responses.label,
        case when ratings.response_a_id is not null then coalesce(ratings.judge_score, -1) end as score
    from judge_runs as runs
    inner join rated_examples as rated
        on rated.run_id = runs.run_id
        and rated.benchmark = runs.benchmark
    inner join responses
        on responses.benchmark = rated.benchmark
        and responses.example_id = rated.example_id
    left join judgments as ratings
        on ratings.run_id = rated.run_id
        and ratings.benchmark = rated.benchmark
        and ratings.example_id = rated.example_id
        and ratings.response_a_id = responses.response_id
        and ratings.protocol = 'ratings'
)

select * from final
