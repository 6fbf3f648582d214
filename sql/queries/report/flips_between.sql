-- the flips from a model's previous run ($a) to its latest ($b) on one benchmark, largest margin
-- change first.
select
    run_a as previous_run,
    run_b as latest_run,
    benchmark,
    subset,
    example_id,
    change,
    margin_a,
    margin_b
from flips
where run_a = $a and run_b = $b and benchmark = $benchmark
order by abs(margin_change) desc nulls last, example_id
