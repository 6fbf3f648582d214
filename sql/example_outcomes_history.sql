-- example_outcomes_history: one row per (model, run, benchmark, example) of every complete computed
-- run (runs_history), keyed by (model, run_id, ended_at). example_outcomes is its latest-run filter.
-- Rule (RewardBench utils.py, RMB my_run_rm.py): an example is correct when every chosen response
-- scores strictly above every rejected one, i.e. min(chosen) > max(rejected); a tie is wrong.
-- margin = min(chosen) - max(rejected). Examples with no rejected response (messages-only files)
-- and examples with any unscored response get correct = NULL (never counted as right or wrong).
-- credit (what the example adds to subset accuracy) by the subset's catalog rule (subset_weights.rule):
-- strict: correct::double; rb2-top-share (RewardBench 2's reroll_and_score_dataset): 1 when the
-- chosen has the top score alone, 1 / k when it shares it with k - 1 rejected, else 0; rb2-ties: the
-- strict credit here (its subset score is rb2_ties_history's). credit_both_orders = credit;
-- chosen_spread = max(chosen) - min(chosen) (NULL with one chosen), for the Ties score;
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
        scores.score,
        max(scores.score) filter (where responses.label = 'rejected')
            over (partition by runs.run_id, responses.benchmark, responses.example_id) as top_rejected
    from runs_history as runs
    inner join responses
        on responses.benchmark = runs.benchmark
    left join run_scores as scores
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
        max(score) filter (where label = 'chosen') as best_chosen,
        count(*) filter (where label = 'chosen') as n_chosen,
        max(score) filter (where label = 'rejected') as best_rejected,
        count(*) filter (where label = 'rejected' and score = top_rejected) as n_rejected_at_top,
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
        per_example.worst_chosen - per_example.best_rejected as margin,
        case when per_example.n_chosen > 1 then per_example.best_chosen - per_example.worst_chosen end
            as chosen_spread,
        per_example.n_rejected_at_top,
        coalesce(weights.rule, 'strict') as rule
    from per_example
    inner join examples
        on examples.benchmark = per_example.benchmark
        and examples.example_id = per_example.example_id
    left join subset_weights as weights
        on weights.benchmark = per_example.benchmark
        and weights.subset = examples.subset
),

pointwise_credit as (
    select
        outcomes.*,
        case
            when outcomes.correct is null then null
            when outcomes.rule = 'rb2-top-share' and outcomes.margin = 0
                then 1.0 / (1 + outcomes.n_rejected_at_top)
            else outcomes.correct::double
        end as credit
    from pointwise_outcomes as outcomes
),

final as (
    select
        * exclude (rule, n_rejected_at_top),
        credit as credit_both_orders,
        null::boolean as order_consistent
    from pointwise_credit
    union all by name
    select * from judge_outcomes_history
)

select * from final
