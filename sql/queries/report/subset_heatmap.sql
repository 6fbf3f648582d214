-- the leaderboard page's subset heatmap: every model's score per subset (the accuracy; RewardBench 2's
-- Ties: its Ties score).
select model, benchmark, subset, score from subset_accuracy
