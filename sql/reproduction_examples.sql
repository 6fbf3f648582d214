-- reproduction_examples: two runs side by side, one row per example both decided (run_outcomes with a
-- non-NULL `correct`): both outcomes, margins and credits. Any two runs: of one model (a local run and
-- an imported published file, two checkpoints, two settings keys) or of two models. Every ordered pair
-- appears; filter on run_a and run_b (`rb-pipeline compare A B`).
-- agree: both right or both wrong; margin_change = margin_b - margin_a (NULL where a run has no margin:
-- judges, per-example files without scores).
with decided as (
    select model, run_id, benchmark, subset, example_id, correct, margin, credit
    from run_outcomes
    where correct is not null
),

final as (
    select
        a.run_id as run_a,
        b.run_id as run_b,
        a.model as model_a,
        b.model as model_b,
        a.benchmark,
        a.subset,
        a.example_id,
        a.correct as correct_a,
        b.correct as correct_b,
        a.margin as margin_a,
        b.margin as margin_b,
        a.credit as credit_a,
        b.credit as credit_b,
        a.correct = b.correct as agree,
        b.margin - a.margin as margin_change
    from decided as a
    inner join decided as b
        on b.benchmark = a.benchmark
        and b.example_id = a.example_id
        and b.run_id <> a.run_id
)

select * from final
