-- leaderboard_history: one leaderboard row per (model, run) of every complete run, computed or
-- imported, keyed by (model, run_id, ended_at): what each run scored, newest first per model.
-- Same columns and rules as leaderboard (macros/rules.sql leaderboard over section_scores_history and
-- overall_scores_history), plus run_id and ended_at. A run fills only the columns of the benchmarks it
-- covered; the latest leaderboard row may combine several runs of one model.
{% import 'macros/rules.sql' as rules with context %}
with final as (
    {{ rules.leaderboard('section_scores_history', 'overall_scores_history', ['model', 'run_id', 'ended_at', 'provenance']) }}
)

select * from final order by model, ended_at desc, run_id desc
