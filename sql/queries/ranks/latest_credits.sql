-- rank groups: the credits of every model's latest runs, per example (`prefix`: the tables' database
-- and schema, `target.main.` for an attached warehouse file during an update).
select outcomes.model, outcomes.benchmark, outcomes.subset, outcomes.example_id, outcomes.credit
from {{ prefix }}example_outcomes_history as outcomes
inner join {{ prefix }}runs_history as runs
    on runs.run_id = outcomes.run_id and runs.model = outcomes.model
    and runs.benchmark = outcomes.benchmark and runs.is_latest
where outcomes.credit is not null
order by outcomes.benchmark, outcomes.subset, outcomes.model, outcomes.example_id
