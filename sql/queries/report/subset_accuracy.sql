-- every model's subset accuracies, by benchmark and subset (the CLI, the warehouse asset's heatmap).
select * from subset_accuracy order by benchmark, subset
