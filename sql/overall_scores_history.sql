-- overall_scores_history: overall_scores' rule per (model, run) of every complete run, keyed by
-- (model, run_id, ended_at): the headline number from the sections that run scored. (The latest
-- overall_scores may combine the latest runs of several benchmarks, so it is not a filter of this.)
-- Rule (official RewardBench leaderboard, checked against 105 published rows): the mean of Chat,
-- Chat Hard, Safety and Reasoning, or, where prior sets were scored,
-- (Chat + Chat Hard + Safety + Reasoning + 0.5 x Prior Sets) / 4.5: a weighted mean with the
-- catalog's section weights. RMB: the mean of helpfulness/harmlessness x pairwise/best-of-N.
-- The overall is NULL unless every required section was scored in that run.
with scored as (
    select
        sections.overall,
        sections.overall_column,
        sections.overall_weight,
        sections.required,
        scores.model,
        scores.run_id,
        scores.ended_at,
        scores.provenance,
        scores.score
    from section_scores_history as scores
    inner join sections
        on sections.benchmark = scores.benchmark
        and sections.section = scores.section
    where sections.overall is not null
),

required as (
    select overall, count(*) filter (where required) as n_required
    from sections
    where overall is not null
    group by overall
),

final as (
    select
        scored.overall,
        any_value(scored.overall_column) as column_name,
        scored.model,
        scored.run_id,
        scored.ended_at,
        scored.provenance,
        case
            when count(*) filter (where scored.required) = any_value(required.n_required)
                then sum(scored.score * scored.overall_weight) / sum(scored.overall_weight)
        end as score
    from scored
    inner join required on required.overall = scored.overall
    group by scored.overall, scored.model, scored.run_id, scored.ended_at, scored.provenance
)

select * from final
