-- subset_accuracy_history: the score of each subset per (model, run, benchmark, subset) of every complete
-- run, computed or imported, keyed by (model, run_id, ended_at). subset_accuracy is its latest-run filter.
-- score = the subset's score by its catalog rule (subset_weights.rule): the accuracy, except for the
-- rules whose score is not one (catalog.SCORE_RULES, the templates' `score_rules`: rb2-ties, RewardBench
-- 2's Ties score from rb2_ties_history, in [-0.01, 1.01]), whose rows have accuracy (and
-- accuracy_both_orders) NULL.
-- Sections, overalls, intervals, leaderboard, report and exports read `score`.
-- Rule: computed runs: accuracy = avg(credit) over the subset's scored examples
-- (example_outcomes_history; credit is correct::double for pointwise models, so accuracy = correct /
-- scored, and 1 / 0 / 0.5 for a tie or unparseable verdict for judges, RewardBench's generative rule;
-- examples whose credit is NULL are not counted in n). accuracy_both_orders = avg(credit_both_orders)
-- (JudgeBench's both-orders rule; equal to accuracy for pointwise models); order_consistency = the
-- share of examples a judge decides the same in every order (rule: judge_outcomes_history's
-- order_consistent, as JudgeBench counts it; NULL for pointwise, rated and imported runs).
-- Imported runs (`rb-pipeline import`):
-- imported_metrics, where n = the file's rows, or NULL for per-subset metrics files (their counts are
-- unknown: the subset still counts, and the leaderboard's coverage says "published metrics"), accuracy
-- = the file's own number and score = its `score` where that is not an accuracy (RewardBench 2's Ties);
-- for an imported RewardBench 2 per-example file, Ties takes rb2_ties_history's score from its rows.
-- The warehouse file stores this view as a table (warehouse.MATERIALIZED), built with the file.
with averaged as (
    select
        outcomes.model,
        outcomes.run_id,
        outcomes.ended_at,
        runs.provenance,  -- computed, or ensemble (offline ensembles)
        outcomes.benchmark,
        outcomes.subset,
        count(outcomes.credit) as n,
        avg(outcomes.credit) as accuracy,
        avg(outcomes.credit_both_orders) as accuracy_both_orders,
        avg(outcomes.order_consistent::double) as order_consistency
    from example_outcomes_history as outcomes
    inner join runs_history as runs
        on runs.run_id = outcomes.run_id
        and runs.model = outcomes.model
        and runs.benchmark = outcomes.benchmark
    group by all
),

computed as (
    select
        averaged.*,
        ties.score  -- rb2-ties subsets only (rb2_ties_history has no other rows)
    from averaged
    left join rb2_ties_history as ties
        on ties.run_id = averaged.run_id
        and ties.benchmark = averaged.benchmark
        and ties.subset = averaged.subset
),

imported as (
    select
        metrics.model,
        metrics.run_id,
        runs.ended_at,
        runs.provenance,
        metrics.benchmark,
        metrics.subset,
        metrics.n,
        metrics.accuracy,
        coalesce(ties.score, metrics.score) as score  -- rb2-ties: from the file's rows, else its number
    from imported_metrics as metrics
    inner join runs_history as runs
        on runs.run_id = metrics.run_id
        and runs.model = metrics.model
        and runs.benchmark = metrics.benchmark
    left join rb2_ties_history as ties
        on ties.run_id = metrics.run_id
        and ties.benchmark = metrics.benchmark
        and ties.subset = metrics.subset
    where runs.provenance = 'imported'
),

scored as (
    select * from computed
    union all by name
    select * from imported
),

ruled as (
    select
        scored.*,
        coalesce(weights.rule in ({% for rule in score_rules %}'{{ rule }}'{{ ", " if not loop.last }}{% endfor %}), false) as score_rule
    from scored
    left join subset_weights as weights
        on weights.benchmark = scored.benchmark
        and weights.subset = scored.subset
),

final as (  -- a subset scored by a score rule has a score and no accuracy (its mean credit is not it)
    select
        * exclude (score_rule) replace (
            case when not score_rule then accuracy end as accuracy,
            case when not score_rule then accuracy_both_orders end as accuracy_both_orders,
            case when score_rule then score else accuracy end as score
        )
    from ruled
)

select * from final
