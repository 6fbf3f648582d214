-- leaderboard_history: one leaderboard row per (model, run) of every complete run, computed or
-- imported, keyed by (model, run_id, ended_at): what each run scored, newest first per model.
-- Same columns and rules as leaderboard (section_scores_history and overall_scores_history pivoted on
-- the catalog's `column` names), plus run_id, ended_at and provenance. A run fills only the columns of
-- the benchmarks it covered; the latest leaderboard row may combine several runs of one model.
with section_columns as (
    select scores.model, scores.run_id, scores.ended_at, scores.provenance, sections.column_name, scores.score
    from section_scores_history as scores
    inner join sections
        on sections.benchmark = scores.benchmark
        and sections.section = scores.section
),

overall_columns as (
    select model, run_id, ended_at, provenance, column_name, score
    from overall_scores_history
),

all_columns as (
    select * from section_columns
    union all
    select * from overall_columns
),

final as (
    select
        model,
        run_id,
        ended_at,
        provenance,
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
    group by model, run_id, ended_at, provenance
)

select * from final order by model, ended_at desc, run_id desc
