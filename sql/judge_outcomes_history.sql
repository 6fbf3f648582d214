-- judge_outcomes_history: one row per (model, run, benchmark, example) of every complete computed run
-- (the invariance audit's runs too) of a judge (a model_type that model_kinds marks judged; the
-- judgments table), keyed by (model, run_id, ended_at): what the judge's verdicts add up to, per
-- example. example_outcomes_history unions it in and turns it into credit by the example's rule (the
-- credit macro of macros/rules.sql).
-- Every chosen response is compared with every rejected one, each comparison judged in both orders
-- (chosen_first: A = chosen). A verdict is mapped back through the order to its winner: chosen,
-- rejected, tie, or error (unparseable reply, input too long). Ensembles (an odd number of judges): the
-- winner more than half of the judges gave, else tie (rewardbench's `max(set(votes), key=votes.count)`
-- picks arbitrarily when no verdict leads).
-- One order per comparison, drawn at random with a fixed seed (the rows with `sampled`), as
-- RewardBench's scripts/run_generative.py shows one: n_lost = comparisons the rejected response won,
-- n_tied = comparisons tied or unparseable, n_rejected = comparisons.
-- won_both_orders, JudgeBench's tally (utils/metrics.py): per comparison +1 for each order the chosen
--   wins and -1 for each order it loses; a comparison is won when the sum is > 0; true when every
--   comparison is won (a tie, an error or an inconsistent pair is not).
-- order_consistent (the rule, stated once here): in every comparison both orders name the same
--   winner, as JudgeBench's utils/metrics.py counts n_inconsistent (decision1 != flipped decision2):
--   a tie in both orders is consistent, and so is a failed verdict in both orders (None == None there);
--   a failure in one order only is not. (JudgeBench never reports the number; this is its count.)
-- fully_scored is false when a comparison is unjudged (the example then gets no credit).
-- RewardBench 2's protocols (engine/judging.py): examples a judge rated (judgments.protocol =
-- 'ratings') are left to judge_ratings (scored as per-response scores in example_outcomes_history);
-- four-way examples (protocol 'four-way', generative_v2.py run_judge_four / process_judgement): the
-- sampled call (the chosen at the drawn position) decides: its letter names the chosen -> n_lost 0,
-- another answer -> n_lost 1, no letter -> n_tied = n_rejected (upstream's 0.25 = 1 / (1 + 3));
-- order_consistent: the same answer wins in all four arrangements (the chosen at A, B, C, D), failures
-- counting as one answer (as in the pairwise rule above); won_both_orders is NULL (JudgeBench's rule
-- is pairwise).
{% import 'macros/run_rules.sql' as run_rules %}
with judge_runs as (
    {{ run_rules.judge_runs() }}
),

comparisons as (
    select distinct
        runs.model,
        runs.run_id,
        chosen.benchmark,
        chosen.example_id,
        chosen.response_id as chosen_id,
        rejected.response_id as rejected_id
    from judge_runs as runs
    inner join responses as chosen
        on chosen.benchmark = runs.benchmark
        and chosen.label = 'chosen'
    inner join responses as rejected
        on rejected.benchmark = chosen.benchmark
        and rejected.example_id = chosen.example_id
        and rejected.label = 'rejected'
),

member_winners as (
    select
        run_id,
        benchmark,
        example_id,
        pair_order,
        judge,
        sampled,
        case when pair_order = 'chosen_first' then response_a_id else response_b_id end as chosen_id,
        case when pair_order = 'chosen_first' then response_b_id else response_a_id end as rejected_id,
        case
            when verdict = 'tie' then 'tie'
            when verdict = 'A' and pair_order = 'chosen_first' then 'chosen'
            when verdict = 'B' and pair_order = 'rejected_first' then 'chosen'
            when verdict = 'B' and pair_order = 'chosen_first' then 'rejected'
            when verdict = 'A' and pair_order = 'rejected_first' then 'rejected'
            else 'error'
        end as winner
    from judgments
    where run_id in (select run_id from judge_runs) and coalesce(protocol, 'pairwise') = 'pairwise'
),

four_way_calls as (
    select
        run_id,
        benchmark,
        example_id,
        sampled,
        len(answer_ids) - 1 as n_rejected,
        case
            when verdict = right(pair_order, 1) then 'chosen'
            when verdict in ('A', 'B', 'C', 'D') then 'rejected'
            else 'error'
        end as winner,
        case when verdict in ('A', 'B', 'C', 'D') then answer_ids[position(verdict in 'ABCD')] end as winner_id
    from judgments
    where run_id in (select run_id from judge_runs) and protocol = 'four-way'
),

four_way as (
    select
        run_id,
        benchmark,
        example_id,
        count(*) = 4 and count(*) filter (where sampled) = 1 as fully_judged,
        any_value(n_rejected) as n_compared,
        (any_value(winner) filter (where sampled) = 'rejected')::int as n_lost,
        case when any_value(winner) filter (where sampled) = 'error' then any_value(n_rejected) else 0 end
            as n_tied,
        count(distinct coalesce(winner_id, 'error')) = 1 as consistent
    from four_way_calls
    group by run_id, benchmark, example_id
),

rated as (  -- judge_ratings' examples: scored from the ratings, not here
    select distinct run_id, benchmark, example_id
    from judgments
    where protocol = 'ratings'
),

votes as (
    select
        run_id,
        benchmark,
        example_id,
        pair_order,
        chosen_id,
        rejected_id,
        winner,
        bool_or(sampled) as sampled,
        count(distinct judge) as n_votes
    from member_winners
    group by run_id, benchmark, example_id, pair_order, chosen_id, rejected_id, winner
),

votes_with_totals as (
    select
        *,
        sum(n_votes) over (
            partition by run_id, benchmark, example_id, pair_order, chosen_id, rejected_id
        ) as n_judges
    from votes
),

ordered_pairs as (
    select
        run_id,
        benchmark,
        example_id,
        pair_order,
        chosen_id,
        rejected_id,
        bool_or(sampled) as sampled,
        coalesce(any_value(winner) filter (where 2 * n_votes > n_judges), 'tie') as winner
    from votes_with_totals
    group by run_id, benchmark, example_id, pair_order, chosen_id, rejected_id
),

judged_comparisons as (
    select
        comparisons.model,
        comparisons.run_id,
        comparisons.benchmark,
        comparisons.example_id,
        chosen_first.winner as chosen_first_winner,
        rejected_first.winner as rejected_first_winner,
        case
            when chosen_first.sampled then chosen_first.winner
            when rejected_first.sampled then rejected_first.winner
        end as sampled_winner
    from comparisons
    left join ordered_pairs as chosen_first
        on chosen_first.run_id = comparisons.run_id
        and chosen_first.benchmark = comparisons.benchmark
        and chosen_first.example_id = comparisons.example_id
        and chosen_first.chosen_id = comparisons.chosen_id
        and chosen_first.rejected_id = comparisons.rejected_id
        and chosen_first.pair_order = 'chosen_first'
    left join ordered_pairs as rejected_first
        on rejected_first.run_id = comparisons.run_id
        and rejected_first.benchmark = comparisons.benchmark
        and rejected_first.example_id = comparisons.example_id
        and rejected_first.chosen_id = comparisons.chosen_id
        and rejected_first.rejected_id = comparisons.rejected_id
        and rejected_first.pair_order = 'rejected_first'
),

per_example as (
    select
        model,
        run_id,
        benchmark,
        example_id,
        bool_and(
            chosen_first_winner is not null and rejected_first_winner is not null and sampled_winner is not null
        ) as fully_judged,
        count(*) as n_compared,
        count(*) filter (where sampled_winner = 'rejected') as n_lost,
        count(*) filter (where sampled_winner in ('tie', 'error')) as n_tied,
        bool_and(
            (chosen_first_winner = 'chosen')::int + (rejected_first_winner = 'chosen')::int
            > (chosen_first_winner = 'rejected')::int + (rejected_first_winner = 'rejected')::int
        ) as won_both_orders,
        bool_and(chosen_first_winner = rejected_first_winner) as consistent
    from judged_comparisons
    group by model, run_id, benchmark, example_id
),

final as (
    select
        runs.model,
        runs.run_id,
        runs.ended_at,
        examples.benchmark,
        examples.subset,
        examples.example_id,
        coalesce(four_way.fully_judged, judged.fully_judged, false) as fully_scored,
        coalesce(four_way.n_compared, judged.n_compared, 0) as n_rejected,
        coalesce(four_way.n_lost, judged.n_lost) as n_lost,
        coalesce(four_way.n_tied, judged.n_tied) as n_tied,
        null::double as margin,
        null::double as chosen_spread,
        true as is_judge,
        case when four_way.example_id is null then judged.won_both_orders end as won_both_orders,
        case
            when four_way.fully_judged then four_way.consistent
            when four_way.example_id is null and judged.fully_judged then judged.consistent
        end as order_consistent
    from judge_runs as runs
    inner join examples
        on examples.benchmark = runs.benchmark
    left join per_example as judged
        on judged.run_id = runs.run_id
        and judged.benchmark = examples.benchmark
        and judged.example_id = examples.example_id
    left join four_way
        on four_way.run_id = runs.run_id
        and four_way.benchmark = examples.benchmark
        and four_way.example_id = examples.example_id
    anti join rated
        on rated.run_id = runs.run_id
        and rated.benchmark = examples.benchmark
        and rated.example_id = examples.example_id
)

select * from final
