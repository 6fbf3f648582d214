-- subset_accuracy: accuracy = correct / scored examples of the subset, as a fraction in [0, 1]
-- (RewardBench: per-subset accuracy; RMB: per-scenario accuracy). Examples whose correctness is
-- NULL (messages-only) are not counted in n.
-- Rule (which source, per model x benchmark): computed outcomes (example_outcomes) when the model's
-- latest complete run for the benchmark is a computed one; else the metrics of its latest complete
-- imported run (`rb-pipeline import`: imported_metrics, where n = the file's rows, or the catalog's
-- expected rows for per-subset metrics files, and accuracy = the file's own number). The two are
-- never mixed within one (model, benchmark).
with computed_sources as (
    select distinct latest.model, latest.benchmark
    from latest_runs as latest
    inner join runs
        on runs.run_id = latest.run_id
    where coalesce(runs.provenance, 'computed') <> 'imported'
),

computed as (
    select
        outcomes.model,
        outcomes.benchmark,
        outcomes.subset,
        count(outcomes.correct) as n,
        avg(outcomes.correct::int) as accuracy
    from example_outcomes as outcomes
    inner join computed_sources as sources
        on sources.model = outcomes.model
        and sources.benchmark = outcomes.benchmark
    group by outcomes.model, outcomes.benchmark, outcomes.subset
),

imported_runs as (
    select distinct metrics.model, metrics.benchmark, metrics.run_id, runs.ended_at
    from imported_metrics as metrics
    inner join runs
        on runs.run_id = metrics.run_id
        and runs.model = metrics.model
    where runs.status = 'complete' and runs.provenance = 'imported'
),

latest_imported as (
    select
        *,
        row_number() over (partition by model, benchmark order by ended_at desc, run_id desc) as recency
    from imported_runs
),

imported as (
    select metrics.model, metrics.benchmark, metrics.subset, metrics.n, metrics.accuracy
    from imported_metrics as metrics
    inner join latest_imported as latest
        on latest.run_id = metrics.run_id
        and latest.model = metrics.model
        and latest.benchmark = metrics.benchmark
        and latest.recency = 1
    where not exists (
        select 1
        from computed_sources as sources
        where sources.model = metrics.model and sources.benchmark = metrics.benchmark
    )
),

final as (
    select * from computed
    union all by name
    select * from imported
)

select * from final
