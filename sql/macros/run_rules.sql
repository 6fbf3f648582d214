{#- Which runs carry scores computed here, written once (example_outcomes_history, judge_outcomes_history
    and judge_ratings read it): complete runs of provenance `computed` and the invariance audit's
    (`audit`). Imported runs carry metrics only; an offline ensemble's scores come from ensemble_scores. -#}

{% macro scored_here(runs) -%}
{{ runs }}.provenance in ('computed', 'audit')
{%- endmacro %}

{% macro judge_runs() -%}
{#- Every scored-here run of a judge (a model_type that model_kinds marks judged), one row per benchmark. -#}
select model, run_id, ended_at, benchmark
from runs_history
where {{ scored_here('runs_history') }} and model_type in (select kind from model_kinds where judged)
{%- endmacro %}
