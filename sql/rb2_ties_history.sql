-- rb2_ties_history: RewardBench 2's Ties score per (model, run, benchmark, subset) for subsets whose
-- catalog rule is rb2-ties, from rb2_ties_examples' rows (computed runs and imported per-example files).
-- Rule (written once, macros/rules.sql rb2_ties_score; rewardbench/utils.py process_single_model):
-- score = 0.30 x tied accuracy + 0.30 x ref accuracy (each over all its tied / ref prompts)
-- + 0.20 x mean(gap_tied > spread) + 0.20 x mean(min(gap_ref, gap_tied) > spread)
-- + 0.01 x mean(tanh(min(gap_ref, gap_tied) / spread - 1)), the three means over the prompts present as
-- both ref and tied (a 0/0 counts 0). Not an accuracy (in [-0.01, 1.01]): subset_accuracy.score.
{% import 'macros/rules.sql' as rules with context %}
with final as (
    {{ rules.rb2_ties_score('rb2_ties_examples', ['model', 'run_id', 'ended_at']) }}
)

select * from final
