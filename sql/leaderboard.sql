-- leaderboard: one row per model; accuracies as fractions in [0, 1]. The score columns are generated
-- from the catalog (each section's and overall's `column`, ordered by leaderboard_position): a new
-- benchmark's YAML adds its columns with no code change (macros/rules.sql leaderboard).
-- Sections: section_scores (RewardBench: prompt-weighted; Prior Sets and RMB: mean over subsets /
-- scenarios, RMB's item-level mean stays in section_scores.item_level_score); overalls: overall_scores
-- (rewardbench = (4 sections + 0.5 x Prior Sets) / 4.5 or the mean of the four; rmb = the mean of the
-- four goal x set scores). A score is shown only when everything it needs was scored in full; else it
-- is empty and `coverage` says what is missing. `provenance`: computed, imported, or both (per
-- benchmark the latest run, runs_history).
-- judge_flags: the subsets where the judge's failure rate passed judge_health's threshold (its
-- unparseable and failed calls are shown, never silently credited). below_null: the subsets where the
-- model does not beat the best null baseline (above_null_baseline: margin <= 0), as `subset (best
-- null accuracy)`, the reference each score is read against. rank_groups: per overall column, the rank
-- among the models that can be told apart (table rank_groups, warehouse/ranks.py: paired bootstrap over
-- shared examples, Holm-corrected, 95%), `(tied)` where another model has the same rank.
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

judge_flags as (
    select
        model,
        string_agg(benchmark || '/' || subset || ' (' || round(100 * failure_rate, 1) || '% failed)', '; '
            order by benchmark, subset) as judge_flags
    from judge_health
    where flagged
    group by model
),

below_null as (
    select
        model,
        string_agg(benchmark || '/' || subset || ' (' || round(best_null_accuracy, 4) || ')', '; '
            order by benchmark, subset) as below_null
    from above_null_baseline
    where margin <= 0
    group by model
),

ranks as (
    select
        model,
        string_agg(
            case
                when rank is null then 'not computed since the last update: rb-pipeline warehouse --rebuild'
                else column_name || ' #' || rank || case when tied then ' (tied)' else '' end
            end, '; ' order by column_name) as rank_groups
    from rank_groups
    group by model
),

final as (
    select board.*, provenance.provenance, judge_flags.judge_flags, below_null.below_null, ranks.rank_groups
    from board
    left join provenance using (model)
    left join judge_flags using (model)
    left join below_null using (model)
    left join ranks using (model)
)

select * from final order by {% for column in leaderboard_columns[:1] %}{{ column }} desc nulls last, {% endfor %}model
