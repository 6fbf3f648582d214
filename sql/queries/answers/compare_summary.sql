-- `rb-pipeline compare`: per subset, the agreement, accuracy difference and McNemar p-values of runs A
-- against runs B (reproduction_diff).
{% import 'queries/answers/parameters.sql' as parameters %}
select * from reproduction_diff
where run_a in ({{ parameters.listed(a) }}) and run_b in ({{ parameters.listed(b) }})
order by benchmark, subset
