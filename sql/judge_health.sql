-- judge_health: per generative or pairwise judge and subset, its latest run's verdicts (the judgments
-- table's general columns: verdict, raw_output, truncated_tokens), so a judge's failures are seen beside
-- its score and never silently credited (reward-bench #252, RMB #8).
-- Counts are over judge calls (every ordered pair, both orders, every ensemble member):
-- unparseable = verdict 'error' with a reply that could not be read as a verdict (raw_output present,
-- input not too long; a server's refusal of the input is recorded the same way); errors = the other
-- 'error' verdicts (input too long: truncated_tokens > 0, or no reply at all); ties = verdict 'tie'.
-- failure_rate = (unparseable + errors) / n_calls. order_agreement: the share of examples whose
-- verdicts name the same winner in both orders (example_outcomes.order_consistent).
-- flagged: failure_rate > max_failure_rate (0.05, below; the leaderboard's `judge_flags` reads it).
with threshold as (
    select 0.05 as max_failure_rate
),

calls as (
    select
        judgments.model,
        judgments.run_id,
        judgments.benchmark,
        examples.subset,
        judgments.verdict,
        judgments.verdict = 'error' and judgments.raw_output is not null
            and coalesce(judgments.truncated_tokens, 0) = 0 as unparseable
    from judgments
    inner join runs_history as runs
        on runs.run_id = judgments.run_id
        and runs.model = judgments.model
        and runs.benchmark = judgments.benchmark
        and runs.is_latest
    inner join examples
        on examples.benchmark = judgments.benchmark
        and examples.example_id = judgments.example_id
),

counts as (
    select
        model,
        run_id,
        benchmark,
        subset,
        count(*) as n_calls,
        count(*) filter (where unparseable) as unparseable,
        count(*) filter (where verdict = 'error' and not unparseable) as errors,
        count(*) filter (where verdict = 'tie') as ties
    from calls
    group by model, run_id, benchmark, subset
),

consistency as (
    select model, benchmark, subset, avg(order_consistent::int) as order_agreement
    from example_outcomes
    where order_consistent is not null
    group by model, benchmark, subset
),

final as (
    select
        counts.*,
        (counts.unparseable + counts.errors) / counts.n_calls as failure_rate,
        consistency.order_agreement,
        threshold.max_failure_rate,
        (counts.unparseable + counts.errors) / counts.n_calls > threshold.max_failure_rate as flagged
    from counts
    cross join threshold
    left join consistency
        on consistency.model = counts.model
        and consistency.benchmark = counts.benchmark
        and consistency.subset = counts.subset
)

select * from final
