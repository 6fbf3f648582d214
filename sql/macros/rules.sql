{#- The section and overall rules, written once and used by every view that needs them (section_scores_history,
    overall_scores, overall_scores_history, leaderboard, leaderboard_history) and by the bootstrap
    (stats.bootstrap_intervals, over resampled subset scores). `keys` are the columns that tell one
    scored thing from another: (model, run_id, ended_at, provenance) for a run's history, (model) for the
    latest numbers, (model, resample) for the bootstrap. Names of rules and aggregations come from the
    catalog (catalog.RULES, catalog.AGGREGATIONS, table scoring_rules); so does their prose. -#}

{% macro credit(rule) -%}
{#- One example's credit under `rule` (its prose: catalog.RULES, table scoring_rules), from its standing
    (example_outcomes_history's `ruled`): strict_win, n_lost, n_tied, won_both_orders, is_judge. -#}
{%- if rule == 'strict' -%}
strict_win::double
{%- elif rule == 'judge-tie-credit' -%}
case when n_lost > 0 then 0.0 when n_tied = 0 then 1.0 else 0.5 end
{%- elif rule == 'rb2-top-share' -%}
case when n_lost > 0 then 0.0 else 1.0 / (1 + n_tied) end
{%- elif rule == 'judgebench-both-orders' -%}
won_both_orders::double
{%- elif rule == 'rb2-ties' -%}
{#- the subset's score is rb2_ties_score's; a judge gives no per-response score: NULL, never a fallback -#}
case when not is_judge then strict_win::double end
{%- else -%}
{{ raise_unknown_rule(rule) }}
{%- endif -%}
{%- endmacro %}

{% macro aggregate(aggregation) -%}
{#- One aggregation of a section's subset scores (rows with score, n, weight; unscored rows null). A subset's
    score is its accuracy, or its rule's score where that is not one (rb2-ties: subset_accuracy's score). -#}
{%- if aggregation == 'weighted-mean' -%}
sum(score * weight) / sum(weight) filter (where score is not null)
{%- elif aggregation == 'scenario-mean' -%}
avg(score)
{%- elif aggregation == 'item-level' -%}
sum(score * n) / sum(n) filter (where score is not null)
{%- else -%}
{{ raise_unknown_aggregation(aggregation) }}
{%- endif -%}
{%- endmacro %}

{% macro section_scores(relation, keys) -%}
{#- Per (keys, benchmark, section): the catalog's aggregation of the subset scores in `relation`
    (keys, benchmark, subset, n, score), shown only when the section is covered:
    needs = all: every subset of the section scored in full (n >= expected rows, when the catalog knows
    them); needs = any: at least one subset scored and every scored subset in full (Prior Sets).
    partial_score: the same aggregation over whatever was scored; missing: the subsets short of full,
    as `subset (scored/expected)`. -#}
with scored as (
    select {% for key in keys %}subsets.{{ key }}, {% endfor %}subsets.benchmark, subsets.subset, subsets.n, subsets.score
    from {{ relation }} as subsets
    where subsets.score is not null
),

touched as (  -- a section with a subset row, even one without a score (shown empty, with coverage)
    select distinct {% for key in keys %}subsets.{{ key }}, {% endfor %}subsets.benchmark, weights.section
    from {{ relation }} as subsets
    inner join subset_weights as weights
        on weights.benchmark = subsets.benchmark
        and weights.subset = subsets.subset
    where weights.section is not null and weights.weight > 0
),

needed as (
    select
        {% for key in keys %}touched.{{ key }}, {% endfor %}touched.benchmark,
        touched.section,
        sections.needs,
        sections.aggregation,
        weights.subset,
        weights.weight,
        weights.expected_rows,
        scored.n,
        scored.score,
        scored.score is not null
            and (scored.n is null or weights.expected_rows is null or scored.n >= weights.expected_rows) as in_full
    from touched
    inner join sections
        on sections.benchmark = touched.benchmark
        and sections.section = touched.section
    inner join subset_weights as weights
        on weights.benchmark = touched.benchmark
        and weights.section = touched.section
        and weights.weight > 0
    left join scored
        on {% for key in keys %}scored.{{ key }} = touched.{{ key }} and {% endfor %}scored.benchmark = touched.benchmark
        and scored.subset = weights.subset
),

aggregated as (
    select
        {% for key in keys %}{{ key }}, {% endfor %}benchmark,
        section,
        case any_value(aggregation)
            {%- for name in aggregations %}
            when '{{ name }}' then {{ aggregate(name) }}
            {%- endfor %}
        end as partial_score,
        {{ aggregate('item-level') }} as item_level_score,
        case any_value(needs)
            when 'all' then count(*) filter (where in_full) = count(*)
            when 'any' then count(*) filter (where in_full) = count(score) and count(score) > 0
        end as complete,
        count(score) as n_subsets,
        count(*) as n_subsets_needed,
        sum(n) filter (where score is not null)::bigint as n_examples,
        list(
            subset || ' (' || coalesce(n::varchar, '0') || '/' || coalesce(expected_rows::varchar, '?') || ')'
            order by subset
        ) filter (where not in_full and (needs = 'all' or score is not null)) as short,
        -- subsets whose number is a published one without counts (an imported metrics file: n NULL)
        count(*) filter (where score is not null and n is null) > 0 as published
    from needed
    group by {% for key in keys %}{{ key }}, {% endfor %}benchmark, section
)

select
    * exclude (partial_score, item_level_score, complete, short),
    case when complete then partial_score end as score,
    case when complete then item_level_score end as item_level_score,
    partial_score,
    complete,
    nullif(array_to_string(short, ', '), '') as missing,
    -- the leaderboard's coverage: the first three, then how many more
    nullif(
        array_to_string(short[1:3], ', ') || case when len(short) > 3 then ', +' || (len(short) - 3) || ' more' else '' end,
        ''
    ) as missing_brief
from aggregated
{%- endmacro %}

{% macro overall_scores(relation, keys) -%}
{#- Per (keys, overall): the weighted mean of the overall's section scores in `relation` (keys, benchmark,
    section, score) with the catalog's overall weights (RewardBench: Chat, Chat Hard, Safety, Reasoning 1
    each, Prior Sets 0.5 where it was scored: (4 sections + 0.5 x Prior Sets) / 4.5, else / 4, the official
    leaderboard's rule), NULL unless every required section has a score; missing: the required section
    columns without one. -#}
with touched as (
    select distinct {% for key in keys %}scores.{{ key }}, {% endfor %}sections.overall
    from {{ relation }} as scores
    inner join sections
        on sections.benchmark = scores.benchmark
        and sections.section = scores.section
    where sections.overall is not null
),

needed as (
    select
        {% for key in keys %}touched.{{ key }}, {% endfor %}touched.overall,
        sections.overall_column,
        sections.column_name,
        sections.overall_weight,
        sections.required,
        scores.score
    from touched
    inner join sections
        on sections.overall = touched.overall
    left join {{ relation }} as scores
        on {% for key in keys %}scores.{{ key }} = touched.{{ key }} and {% endfor %}scores.benchmark = sections.benchmark
        and scores.section = sections.section
)

select
    {% for key in keys %}{{ key }}, {% endfor %}overall,
    any_value(overall_column) as column_name,
    case
        when bool_and(score is not null or not required)
            then sum(score * overall_weight) / sum(overall_weight) filter (where score is not null)
    end as score,
    string_agg(case when score is null and required then column_name end, ', ' order by column_name) as missing,
    missing as missing_brief
from needed
group by {% for key in keys %}{{ key }}, {% endfor %}overall
{%- endmacro %}

{% macro leaderboard(section_relation, overall_relation, keys) -%}
{#- One row per `keys`: every catalog column (sections' and overalls' `column` names, generated from the
    catalog) and `coverage`: for each column left empty or short of full, what it is missing; for a
    section shown from published metrics (counts unknown: an imported metrics file), "published metrics". -#}
with cells as (
    select {% for key in keys %}scores.{{ key }}, {% endfor %}sections.column_name, scores.score, scores.missing_brief as missing, scores.published
    from {{ section_relation }} as scores
    inner join sections
        on sections.benchmark = scores.benchmark
        and sections.section = scores.section
    union all by name
    select {% for key in keys %}{{ key }}, {% endfor %}column_name, score, missing_brief as missing
    from {{ overall_relation }}
)

select
    {% for key in keys %}{{ key }},{% endfor %}
    {%- for column in leaderboard_columns %}
    max(score) filter (where column_name = '{{ column }}') as {{ column }},
    {%- endfor %}
    string_agg(
        case
            when missing is not null then column_name || ': ' || (case when score is null then 'empty, ' else '' end) || 'missing ' || missing
            when published and score is not null then column_name || ': published metrics'
        end,
        '; ' order by column_name
    ) as coverage
from cells
group by {% for key in keys %}{{ key }}{{ ", " if not loop.last }}{% endfor %}
{%- endmacro %}

{% macro rb2_ties_score(relation, keys) -%}
{#- RewardBench 2's Ties score (rewardbench/utils.py process_single_model, scripts/run_v2.py) per
    (keys, benchmark, subset) over the rows of `relation` (keys, benchmark, subset, sample_type,
    prompt_id, accurate, gap, spread; see rb2_ties_examples): score = 0.30 x mean(accurate, tied) + 0.30 x
    mean(accurate, ref), each over all its rows, + 0.20 x mean(gap_tied > spread) + 0.20 x mean(min(gap_ref,
    gap_tied) > spread) + 0.01 x mean(tanh(min(gap_ref, gap_tied) / spread - 1)), these three over the
    prompts present as both ref and tied, a 0/0 counting 0 (numpy's nan_to_num; x / 0 is +-inf, so tanh
    gives +-1); with no such prompt upstream's means are NaN, here the score is NULL. -#}
{%- set k = keys | join(', ') -%}
with accuracies as (
    select
        {{ k }},
        benchmark,
        subset,
        count(*) as n,
        coalesce(avg(accurate) filter (where sample_type = 'tied'), 0) as tied_accuracy,
        coalesce(avg(accurate) filter (where sample_type = 'ref'), 0) as ref_accuracy
    from {{ relation }}
    group by {{ k }}, benchmark, subset
),

paired as (
    select
        {% for key in keys %}tied.{{ key }}, {% endfor %}tied.benchmark,
        tied.subset,
        tied.spread,
        tied.gap as gap_tied,
        least(ref.gap, tied.gap) as gap_hard
    from {{ relation }} as tied
    inner join {{ relation }} as ref
        on {% for key in keys %}ref.{{ key }} = tied.{{ key }} and {% endfor %}ref.benchmark = tied.benchmark
        and ref.subset = tied.subset
        and ref.prompt_id = tied.prompt_id
        and ref.sample_type = 'ref'
    where tied.sample_type = 'tied'
),

margins as (
    select
        {{ k }},
        benchmark,
        subset,
        avg((gap_tied > spread)::double) as correctness_preferred,
        avg((gap_hard > spread)::double) as correctness_preferred_hard,
        avg(
            case
                when spread <> 0 then tanh(gap_hard / spread - 1)
                when gap_hard > 0 then 1.0
                when gap_hard < 0 then -1.0
                else 0.0
            end
        ) as margin_score
    from paired
    group by {{ k }}, benchmark, subset
)

select
    accuracies.*,
    margins.correctness_preferred,
    margins.correctness_preferred_hard,
    margins.margin_score,
    0.30 * accuracies.tied_accuracy
    + 0.30 * accuracies.ref_accuracy
    + 0.20 * margins.correctness_preferred
    + 0.20 * margins.correctness_preferred_hard
    + 0.01 * margins.margin_score as score
from accuracies
left join margins using ({{ k }}, benchmark, subset)
{%- endmacro %}
