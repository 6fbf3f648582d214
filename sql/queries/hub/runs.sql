-- hub export, the card's runs: the latest complete run per benchmark (latest_runs) with its record.
select
    latest.benchmark,
    runs.run_id,
    runs.model_revision,
    runs.model_type,
    runs.settings,
    runs.device,
    runs.started_at,
    runs.ended_at,
    runs.provenance,
    runs.n_responses,
    runs.n_truncated,
    runs.package_versions,
    runs.git_hash
from latest_runs as latest
inner join runs on runs.run_id = latest.run_id
where latest.model = $model
order by latest.benchmark
