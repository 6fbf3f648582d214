-- length_bias: each model's accuracy split by whether the chosen response is the longer one.
-- Rule: chosen_longer = every chosen response has more characters than every rejected one
-- (min chosen length > max rejected length; for best-of-N: longer than every loser); equal lengths
-- count as not longer. Accuracy = correct / scored examples of the split (example_outcomes, latest
-- runs). A length-biased model is far more accurate where chosen_longer than where not.
with lengths as (
    select
        benchmark,
        example_id,
        min(length(text)) filter (where label = 'chosen') as shortest_chosen,
        max(length(text)) filter (where label = 'rejected') as longest_rejected
    from responses
    group by benchmark, example_id
),

final as (
    select
        outcomes.model,
        outcomes.benchmark,
        outcomes.subset,
        lengths.shortest_chosen > lengths.longest_rejected as chosen_longer,
        count(*) as n,
        avg(outcomes.correct::int) as accuracy
    from example_outcomes as outcomes
    inner join lengths
        on lengths.benchmark = outcomes.benchmark
        and lengths.example_id = outcomes.example_id
    where outcomes.correct is not null
    group by outcomes.model, outcomes.benchmark, outcomes.subset, chosen_longer
)

select * from final
