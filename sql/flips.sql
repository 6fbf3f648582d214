-- flips: the examples whose outcome changed between two runs (reproduction_examples where they do not
-- agree): `lost` when run A got it right and run B wrong, `gained` the other way. Per subset, the counts
-- and their exact McNemar p-value are reproduction_diff's b_only (gained), a_only (lost) and p_value.
-- Filter on run_a and run_b; order by abs(margin_change) to see the largest moves first.
with final as (
    select
        run_a,
        run_b,
        model_a,
        model_b,
        benchmark,
        subset,
        example_id,
        case when correct_b then 'gained' else 'lost' end as change,
        margin_a,
        margin_b,
        margin_change
    from reproduction_examples
    where not agree
)

select * from final
