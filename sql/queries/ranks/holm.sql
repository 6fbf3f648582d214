-- rank groups: Holm's correction over every model pair of a column (the table `tests`: column_name,
-- model_a, model_b, p_value), the rule the comparison views use (sql/macros/stats.sql).
{% import 'macros/stats.sql' as stats %}
{{ stats.holm_adjusted('tests', 'p_value', ['column_name'], 'model_a, model_b') }}
