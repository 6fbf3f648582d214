-- rank groups: the credits of every model's latest runs, per example (`prefix`: the tables' database
-- and schema, `target.main.` for an attached warehouse file during an update). RewardBench 2's Ties is
-- left out: its score is not a mean of credits (ranks.py resamples it by its own rule).
select outcomes.model, outcomes.benchmark, outcomes.subset, outcomes.example_id, outcomes.credit
from {{ prefix }}example_outcomes_history as outcomes
inner join {{ prefix }}runs_history as runs
    on runs.run_id = outcomes.run_id and runs.model = outcomes.model
    and runs.benchmark = outcomes.benchmark and runs.is_latest
left join {{ prefix }}subset_weights as weights
    on weights.benchmark = outcomes.benchmark and weights.subset = outcomes.subset
where outcomes.credit is not null and weights.rule is distinct from 'rb2-ties'
order by outcomes.benchmark, outcomes.subset, outcomes.model, outcomes.example_id
