-- bootstrap: the subsets with a score (subset_accuracy) and the rule each is scored by.
select accuracy.*, coalesce(weights.rule, 'strict') as rule
from subset_accuracy as accuracy
left join subset_weights as weights
    on weights.benchmark = accuracy.benchmark and weights.subset = accuracy.subset
where accuracy.score is not null
order by accuracy.model, accuracy.benchmark, accuracy.subset
