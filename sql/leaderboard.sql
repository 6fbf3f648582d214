-- leaderboard: one row per model; accuracies as fractions in [0, 1]. The score columns are generated
-- from the catalog (each section's and overall's `column`, ordered by leaderboard_position): a new
-- benchmark's YAML adds its columns with no code change (macros/rules.sql leaderboard).
-- Sections: section_scores (RewardBench: prompt-weighted; Prior Sets and RMB: mean over subsets /
-- scenarios, RMB's item-level mean stays in section_scores.item_level_score); overalls: overall_scores
-- (rewardbench = (4 sections + 0.5 x Prior Sets) / 4.5 or the mean of the four; rmb = the mean of the
-- four goal x set scores). A score is shown only when everything it needs was scored in full; else it
-- is empty and `coverage` says what is missing. `provenance`: computed, imported, or both (per
-- benchmark the latest run, runs_history).
{% import 'macros/rules.sql' as rules with context %}
with board as (
    {{ rules.leaderboard('section_scores', 'overall_scores', ['model']) }}
),

provenance as (
    select model, string_agg(distinct provenance, '+' order by provenance) as provenance
    from runs_history
    where is_latest
    group by model
),

final as (
    select board.*, provenance.provenance
    from board
    left join provenance using (model)
)

select * from final order by {% for column in leaderboard_columns[:1] %}{{ column }} desc nulls last, {% endfor %}model
