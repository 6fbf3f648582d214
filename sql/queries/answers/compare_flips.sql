-- `rb-pipeline compare`: the examples runs A and B disagree on (flips), largest margin change first.
{% import 'queries/answers/parameters.sql' as parameters %}
select * from flips
where run_a in ({{ parameters.listed(a) }}) and run_b in ({{ parameters.listed(b) }})
order by abs(margin_change) desc nulls last, benchmark, subset, example_id
