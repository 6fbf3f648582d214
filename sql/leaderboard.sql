-- leaderboard: one row per model; accuracies as fractions in [0, 1].
-- rewardbench = overall_scores' RewardBench rule (mean of the four sections, or with prior sets
-- (4 sections + 0.5 x Prior Sets) / 4.5); rmb = mean of the four RMB goal x set scores, each the
-- mean over scenarios. The columns are the catalog's `column` names (SPEC.md), pivoted here.
-- RewardBench 2's columns follow its own rules (subset rules rb2-top-share and rb2-ties: see
-- example_outcomes_history and rb2_ties_history); reward_bench_2 = the mean of its six subsets.
with section_columns as (
    select scores.model, sections.column_name, scores.score
    from section_scores as scores
    inner join sections
        on sections.benchmark = scores.benchmark
        and sections.section = scores.section
),

overall_columns as (
    select model, column_name, score
    from overall_scores
),

all_columns as (
    select * from section_columns
    union all
    select * from overall_columns
),

final as (
    select
        model,
        max(score) filter (where column_name = 'rewardbench') as rewardbench,
        max(score) filter (where column_name = 'chat') as chat,
        max(score) filter (where column_name = 'chat_hard') as chat_hard,
        max(score) filter (where column_name = 'safety') as safety,
        max(score) filter (where column_name = 'reasoning') as reasoning,
        max(score) filter (where column_name = 'prior_sets') as prior_sets,
        max(score) filter (where column_name = 'rmb') as rmb,
        max(score) filter (where column_name = 'rmb_helpfulness_pairwise') as rmb_helpfulness_pairwise,
        max(score) filter (where column_name = 'rmb_helpfulness_bon') as rmb_helpfulness_bon,
        max(score) filter (where column_name = 'rmb_harmlessness_pairwise') as rmb_harmlessness_pairwise,
        max(score) filter (where column_name = 'rmb_harmlessness_bon') as rmb_harmlessness_bon,
        max(score) filter (where column_name = 'reward_bench_2') as reward_bench_2,
        max(score) filter (where column_name = 'rb2_factuality') as rb2_factuality,
        max(score) filter (where column_name = 'rb2_precise_if') as rb2_precise_if,
        max(score) filter (where column_name = 'rb2_math') as rb2_math,
        max(score) filter (where column_name = 'rb2_safety') as rb2_safety,
        max(score) filter (where column_name = 'rb2_focus') as rb2_focus,
        max(score) filter (where column_name = 'rb2_ties') as rb2_ties,
        max(score) filter (where column_name = 'rm_bench') as rm_bench,
        max(score) filter (where column_name = 'rm_bench_chat') as rm_bench_chat,
        max(score) filter (where column_name = 'rm_bench_math') as rm_bench_math,
        max(score) filter (where column_name = 'rm_bench_code') as rm_bench_code,
        max(score) filter (where column_name = 'rm_bench_safety') as rm_bench_safety,
        max(score) filter (where column_name = 'judgebench_gpt4o') as judgebench_gpt4o,
        max(score) filter (where column_name = 'judgebench_claude') as judgebench_claude
    from all_columns
    group by model
)

select * from final order by rewardbench desc nulls last, rmb desc nulls last, model
