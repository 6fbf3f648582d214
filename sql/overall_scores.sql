-- overall_scores: a benchmark family's headline number from its section scores.
-- Rule (official RewardBench leaderboard, checked against 105 published rows): the mean of Chat,
-- Chat Hard, Safety and Reasoning, or, where prior sets were scored,
-- (Chat + Chat Hard + Safety + Reasoning + 0.5 x Prior Sets) / 4.5: a weighted mean with the
-- catalog's section weights. RMB: the mean of helpfulness/harmlessness x pairwise/best-of-N.
-- The overall is NULL unless every required section was scored (a partial mean would mislead).
with scored as (
    select
        sections.overall,
        sections.overall_column,
        sections.overall_weight,
        sections.required,
        scores.model,
        scores.score
    from section_scores as scores
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
        case
            when count(*) filter (where scored.required) = any_value(required.n_required)
                then sum(scored.score * scored.overall_weight) / sum(scored.overall_weight)
        end as score
    from scored
    inner join required on required.overall = scored.overall
    group by scored.overall, scored.model
)

select * from final
