-- hub export, why there is nothing to export: the model's runs counted by status and provenance.
select status, provenance, count(*) as n
from runs
where model = $model
group by status, provenance
order by status, provenance
