-- ensemble_scores: one score per (offline ensemble, benchmark, response) from the stored scores of its
-- members' latest computed runs (rewardbench's scripts/run_ensemble_offline.py; nothing is scored
-- again). Rule, by the ensemble's `combine` (catalog ensembles): mean, min or max of the members'
-- scores; zmean: the mean of each member's z-score, (score - mean) / population standard deviation over
-- the benchmark's responses it scored (0 for a member whose scores are all equal). A response some
-- member left unscored gets NULL (its example is then not counted, as for any model).
-- example_outcomes_history scores these like any model's (runs_history: provenance `ensemble`).
with member_runs as (
    select
        ensembles.model as ensemble,
        ensembles.benchmark,
        ensembles.run_id as ensemble_run_id,
        ensembles.ended_at,
        members.member,
        members.combine,
        runs.run_id as member_run_id
    from runs_history as ensembles
    inner join ensemble_members as members
        on members.ensemble = ensembles.model
    inner join runs_history as runs
        on runs.model = members.member
        and runs.benchmark = ensembles.benchmark
        and runs.is_latest
        and runs.provenance = 'computed'
    where ensembles.provenance = 'ensemble'
),

benchmark_responses as (
    select distinct benchmark, response_id
    from responses
),

member_scores as (
    select
        member_runs.*,
        benchmark_responses.response_id,
        scores.score,
        coalesce(
            (scores.score - avg(scores.score) over member_benchmark)
            / nullif(stddev_pop(scores.score) over member_benchmark, 0),
            0.0
        ) as z_score
    from member_runs
    inner join benchmark_responses
        on benchmark_responses.benchmark = member_runs.benchmark
    left join run_scores as scores
        on scores.run_id = member_runs.member_run_id
        and scores.response_id = benchmark_responses.response_id
    window member_benchmark as (partition by member_runs.ensemble_run_id, member_runs.member)
),

final as (
    select
        ensemble as model,
        ensemble_run_id as run_id,
        ended_at,
        benchmark,
        response_id,
        case
            when count(score) < count(*) then null  -- a member left it unscored
            when any_value(combine) = 'mean' then avg(score)
            when any_value(combine) = 'min' then min(score)
            when any_value(combine) = 'max' then max(score)
            when any_value(combine) = 'zmean' then avg(z_score)
        end as score
    from member_scores
    group by ensemble, ensemble_run_id, ended_at, benchmark, response_id
)

select * from final
