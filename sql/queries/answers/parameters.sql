{#- `$a0, $a1, ...`: one query parameter per run id, named by `names`. Run ids given as constants,
which DuckDB pushes into both sides of the comparison views' self-join (a subquery there would join every
pair of runs first). -#}
{%- macro listed(names) -%}
{% for name in names %}${{ name }}{{ ", " if not loop.last }}{% endfor %}
{%- endmacro -%}
