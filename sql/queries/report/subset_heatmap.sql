-- the leaderboard page's subset heatmap: every model's accuracy per subset.
select model, benchmark, subset, accuracy from subset_accuracy
