-- bootstrap: RewardBench 2's Ties rows (rb2_ties_examples) of the latest runs, ordered, so a subset's
-- draws depend on nothing but its own rows. prefix: an attached warehouse file's (ranks, during an update).
select rows.* exclude (run_id, ended_at)
from {{ prefix | default('') }}rb2_ties_examples as rows
inner join {{ prefix | default('') }}runs_history as runs
    on runs.run_id = rows.run_id and runs.model = rows.model and runs.benchmark = rows.benchmark
where runs.is_latest
order by rows.model, rows.benchmark, rows.subset, rows.prompt_id, rows.sample_type
