{#- The latest views' one rule, written once: a history view's rows from the run each (model, benchmark)
    reads now, runs_history's is_latest (with runs = 'latest_runs': its computed and ensemble runs only),
    so subset_accuracy, section_scores and example_outcomes always agree. -#}

{% macro latest_rows(history, columns, runs='runs_history') -%}
select
    {%- for column in columns %}
    history.{{ column }}{{ "," if not loop.last }}
    {%- endfor %}
from {{ history }} as history
inner join {{ runs }} as runs
    on runs.model = history.model
    and runs.benchmark = history.benchmark
    and runs.run_id = history.run_id
{%- if runs == 'runs_history' %}
where runs.is_latest
{%- endif %}
{%- endmacro %}
