-- runs_history: one row per (model, benchmark, run) of every *complete* run, computed or imported.
-- Rule (SPEC "Scores"): history is append-only; a run that failed or is still running never counts.
-- is_latest marks the run the latest-run views read for a (model, benchmark): the most recent
-- complete computed run, else (no computed run at all) the most recent complete imported run; ties on
-- ended_at go to the larger run_id. latest_runs, example_outcomes, subset_accuracy and
-- section_scores are filters of the *_history views on is_latest, so the two never disagree.
-- settings: the run's scorer settings (JSON), as in `runs`. Offline ensembles add one always-latest run
-- per covered benchmark (provenance `ensemble`; scores from sql/ensemble_scores.sql). The invariance
-- audit's runs (provenance `audit`, a sample under settings that should not change a score) are history
-- the comparison views read, never a latest run.
with run_benchmarks as (
    select
        run_id,
        model,
        model_type,
        provenance,
        ended_at,
        settings,
        unnest(benchmarks) as benchmark
    from runs
    where status = 'complete' and provenance in ('computed', 'imported', 'audit')
),

ranked as (
    select
        *,
        row_number() over (
            partition by model, benchmark
            order by provenance = 'audit', provenance = 'computed' desc, ended_at desc, run_id desc
        ) as preference
    from run_benchmarks
),

-- an offline ensemble (catalog ensembles, table ensemble_members) is a run of provenance `ensemble` on
-- every benchmark where each member has a latest computed run; its run id names those runs, so the
-- ensemble's history moves when a member is scored again
ensemble_runs as (
    select
        members.ensemble as model,
        ranked.benchmark,
        'ensemble:' || members.ensemble || '@' || ranked.benchmark || '/'
            || string_agg(ranked.run_id, '+' order by members.member) as run_id,
        max(ranked.ended_at) as ended_at,
        'ensemble' as provenance,
        'ensemble' as model_type,
        json_object(
            'combine', any_value(members.combine),
            'members', list(members.member order by members.member),
            'member_runs', list(ranked.run_id order by members.member)
        )::varchar as settings,
        true as is_latest
    from ensemble_members as members
    inner join ranked
        on ranked.model = members.member
        and ranked.preference = 1
        and ranked.provenance = 'computed'
    group by members.ensemble, ranked.benchmark
    having count(*) = (select count(*) from ensemble_members as all_members where all_members.ensemble = members.ensemble)
),

final as (
    select
        model,
        benchmark,
        run_id,
        ended_at,
        provenance,
        model_type,
        settings,
        preference = 1 and provenance <> 'audit' as is_latest
    from ranked
    union all by name
    select * from ensemble_runs
)

select * from final
