-- subset_accuracy: accuracy = correct / scored examples of the subset, as a fraction in [0, 1]
-- (RewardBench: per-subset accuracy; RMB: per-scenario accuracy). Examples whose correctness is
-- NULL (messages-only) are not counted in n.
with final as (
    select
        model,
        benchmark,
        subset,
        count(correct) as n,
        avg(correct::int) as accuracy
    from example_outcomes
    group by model, benchmark, subset
)

select * from final
