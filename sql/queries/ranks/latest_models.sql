-- rank groups: the models with a latest run (`prefix`: see latest_credits.sql).
select distinct model from {{ prefix }}runs_history where is_latest
