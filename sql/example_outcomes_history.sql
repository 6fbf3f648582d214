-- example_outcomes_history: one row per (model, run, benchmark, example) of every complete computed
-- run (runs_history; the invariance audit's runs too), keyed by (model, run_id, ended_at). example_outcomes is its latest-run filter.
-- Each example's standing: n_lost = rejected responses that beat the chosen, n_tied = rejected ones
-- level with it (pointwise, and judges' RewardBench 2 ratings (judge_ratings): scored above / equal to
-- the worst chosen response; other judge protocols: comparisons lost / tied or unparseable, from
-- judge_outcomes_history). margin = min(chosen) - max(rejected)
-- (NULL for judges); chosen_spread = max(chosen) - min(chosen) (NULL with one chosen), for Ties.
-- credit (what the example adds to subset accuracy) by its rule: the `credit(rule)` macro
-- (sql/macros/rules.sql), one branch per rule of catalog.RULES (its prose: table scoring_rules). The
-- rule is the subset's catalog rule (subset_weights.rule), except that a judge on a strict subset
-- follows judge-tie-credit and a pointwise model on a judgebench-both-orders subset follows strict.
-- correct: the strict outcome for pointwise models; for judges credit 1 = true, 0 = false, else NULL.
-- credit_both_orders = JudgeBench's rule for judges (the strict outcome for pointwise models).
-- Examples with no rejected response (messages-only files) or with a response left unscored get
-- correct and credit NULL (never counted as right or wrong).
-- The warehouse file stores this view as a table (warehouse.MATERIALIZED), built with the file.
{% import 'macros/rules.sql' as rules with context %}
{% import 'macros/run_rules.sql' as run_rules %}
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
    left join run_scores as scores
        on scores.run_id = runs.run_id
        and scores.response_id = responses.response_id
    where {{ run_rules.scored_here('runs') }}
        and coalesce(not {{ run_rules.is_judge('runs') }}, true)
),

all_scored as (  -- computed runs, judges' ratings (judge_ratings) and offline ensembles alike
    select model, run_id, ended_at, benchmark, example_id, label, score
    from responses_scored
    union all
    select model, run_id, ended_at, benchmark, example_id, label, score
    from judge_ratings
    union all
    select ensembles.model, ensembles.run_id, ensembles.ended_at, responses.benchmark, responses.example_id,
        responses.label, ensembles.score
    from ensemble_scores as ensembles
    inner join responses
        on responses.benchmark = ensembles.benchmark
        and responses.response_id = ensembles.response_id
),

with_worst_chosen as (
    select
        *,
        min(score) filter (where label = 'chosen')
            over (partition by run_id, benchmark, example_id) as worst_chosen
    from all_scored
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
        count(*) filter (where label = 'rejected' and score > worst_chosen) as n_lost,
        count(*) filter (where label = 'rejected' and score = worst_chosen) as n_tied,
        count(*) filter (where label = 'rejected') as n_rejected,
        bool_and(score is not null) as fully_scored
    from with_worst_chosen
    group by model, run_id, ended_at, benchmark, example_id
),

standings as (
    select
        per_example.model,
        per_example.run_id,
        per_example.ended_at,
        per_example.benchmark,
        examples.subset,
        per_example.example_id,
        per_example.fully_scored,
        per_example.n_rejected,
        per_example.n_lost,
        per_example.n_tied,
        per_example.worst_chosen - per_example.best_rejected as margin,
        case when per_example.n_chosen > 1 then per_example.best_chosen - per_example.worst_chosen end
            as chosen_spread,
        false as is_judge,
        null::boolean as won_both_orders,
        null::boolean as order_consistent
    from per_example
    inner join examples
        on examples.benchmark = per_example.benchmark
        and examples.example_id = per_example.example_id
    union all by name
    select * from judge_outcomes_history
),

ruled as (
    select
        standings.*,
        case
            when standings.is_judge and coalesce(weights.rule, 'strict') = 'strict' then 'judge-tie-credit'
            when not standings.is_judge and weights.rule = 'judgebench-both-orders' then 'strict'
            else coalesce(weights.rule, 'strict')
        end as rule,
        standings.fully_scored and standings.n_rejected > 0 as decided,
        standings.n_lost = 0 and standings.n_tied = 0 as strict_win
    from standings
    left join subset_weights as weights
        on weights.benchmark = standings.benchmark
        and weights.subset = standings.subset
),

credits as (
    select
        *,
        case
            when not decided then null
            {%- for name in credit_rules %}
            when rule = '{{ name }}' then {{ rules.credit(name) }}
            {%- endfor %}
            else error('example_outcomes_history: no SQL for the rule ' || rule)
        end as credit
    from ruled
),

final as (
    select
        model,
        run_id,
        ended_at,
        benchmark,
        subset,
        example_id,
        case
            when not decided then null
            when is_judge then case credit when 1.0 then true when 0.0 then false end
            else strict_win
        end as correct,
        margin,
        credit,
        case when decided then coalesce(won_both_orders, strict_win)::double end as credit_both_orders,
        order_consistent,
        chosen_spread,
        rule
    from credits
)

select * from final
