-- every model's subset accuracies with their bootstrap intervals (the warehouse asset's subset chart).
select accuracy.model, accuracy.benchmark, accuracy.subset, accuracy.accuracy, ci.ci_low, ci.ci_high
from subset_accuracy as accuracy
left join subset_accuracy_ci as ci using (model, benchmark, subset)
