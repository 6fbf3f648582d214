-- every model's subset scores (subset_accuracy's score: the accuracy, or rb2-ties' Ties score) with their
-- bootstrap intervals and, where there is none, why (the warehouse asset's subset chart).
select accuracy.model, accuracy.benchmark, accuracy.subset, accuracy.score, ci.ci_low, ci.ci_high, ci.no_interval
from subset_accuracy as accuracy
left join subset_accuracy_ci as ci using (model, benchmark, subset)
