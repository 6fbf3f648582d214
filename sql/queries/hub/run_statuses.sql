-- hub export, why there is nothing to export: the model's runs counted by status.
select status, count(*) as n from runs where model = $model group by status order by status
