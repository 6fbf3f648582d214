-- The invariance audit (rb_pipeline/engine/audit.py): per audited run, against the baseline run
-- ($baseline), over the examples both decided: the examples whose outcome flipped (reproduction_diff's
-- a_only = lost, b_only = gained, its exact McNemar p-value per subset, Holm-adjusted across subsets: the
-- smallest is shown), the largest accuracy change of a subset, the largest margin change of an example
-- and the largest score change of a response (run_scores, same response in both runs).
-- `runs`: the parameter names of the audited runs' ids (answers.audit_report); every one is listed, with
-- 0 flips over 0 examples where it shares no decided example with the baseline.
{% import 'queries/answers/parameters.sql' as parameters %}
with audited_runs as (
    select distinct run_id, settings_key
    from runs
    where run_id in ({{ parameters.listed(runs) }})
),

audited as (
    select *
    from reproduction_diff
    where run_a = $baseline and run_b in ({{ parameters.listed(runs) }})
),

per_run as (
    select
        run_b as run_id,
        sum(n_both)::bigint as n_examples,
        sum(a_only + b_only)::bigint as flips,
        sum(a_only)::bigint as lost,
        sum(b_only)::bigint as gained,
        max(abs(difference)) as largest_accuracy_change,
        max(largest_margin_change) as largest_margin_change,
        min(p_adjusted) as smallest_p_adjusted
    from audited
    group by run_b
),

score_changes as (
    select
        audited_scores.run_id,
        max(abs(audited_scores.score - baseline_scores.score)) as largest_score_change
    from run_scores as baseline_scores
    inner join run_scores as audited_scores
        on audited_scores.response_id = baseline_scores.response_id
        and audited_scores.model = baseline_scores.model
    where baseline_scores.run_id = $baseline
        and audited_scores.run_id in ({{ parameters.listed(runs) }})
    group by audited_scores.run_id
),

final as (
    select
        audited_runs.run_id,
        audited_runs.settings_key,
        coalesce(per_run.n_examples, 0) as n_examples,
        coalesce(per_run.flips, 0) as flips,
        coalesce(per_run.lost, 0) as lost,
        coalesce(per_run.gained, 0) as gained,
        per_run.smallest_p_adjusted,
        per_run.largest_accuracy_change,
        per_run.largest_margin_change,
        score_changes.largest_score_change
    from audited_runs
    left join per_run on per_run.run_id = audited_runs.run_id
    left join score_changes on score_changes.run_id = audited_runs.run_id
)

select * from final
