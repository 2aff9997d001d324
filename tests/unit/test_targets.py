"""The path to a target: the exact solver on hand-built models (hand-checked and against a
brute-force search), and the model read from the demo store (today's index reproduced, metric,
programme, verified and not-applicable moves, custom efforts, rank targets)."""

import itertools
import math
import random

import numpy as np
import pytest

from metrics import efforts, scoring, targets
from metrics.auth import SYSTEM, User
from metrics.errors import CoreError, PermissionDenied, ValidationError
from metrics.targets import Model, Target, needed_for_rank, solve

pytestmark = pytest.mark.both_backends


def model(start, gain, cost, prev=None):
    n = len(gain)
    return Model(
        start=start,
        gain=np.asarray(gain, dtype=float),
        cost=np.asarray(cost, dtype=float),
        prev=np.asarray(prev if prev is not None else [-1] * n, dtype=np.int64),
    )


# ----------------------------------------------------------------------------- hand-checked solver


def test_cheapest_pair_beats_one_dear_step():
    # gains 0.3, 0.3, 0.2, 0.2 at costs 5, 5, 1, 1; need +0.4 over 2.0:
    # one 0.3 step falls short; the two 0.2 steps reach 2.4 exactly at cost 2 (0.3 + 0.2 would cost 6)
    m = model(2.0, [0.3, 0.3, 0.2, 0.2], [5, 5, 1, 1])
    sol = solve(m, 2.4)
    assert sol.reachable and sol.chosen.tolist() == [False, False, True, True]
    assert sol.cost == 2.0 and sol.final == pytest.approx(2.4, abs=1e-12)


def test_precedence_between_the_steps_of_one_indicator():
    # an indicator counted at 2.5 with g = 0.1: step to 3 gains 0.05, step to 4 gains 0.1 (needs the first);
    # another step gains 0.04. Need +0.1: the step to 4 alone would do at cost 1, but it needs the step
    # to 3, so the cheapest is both (0.15, cost 2); 0.05 + 0.04 = 0.09 falls short.
    m = model(1.0, [0.05, 0.1, 0.04], [1, 1, 1], [-1, 0, -1])
    sol = solve(m, 1.1)
    assert sol.chosen.tolist() == [True, True, False]
    assert sol.cost == 2.0 and sol.final == pytest.approx(1.15, abs=1e-12)


def test_unreachable_reports_the_best_reachable_index_and_every_step():
    # 2.0 + 0.25 + 0.5 = 2.75 < 3.0: not reachable, best 2.75 with all steps (cost 1 + 4 = 5)
    m = model(2.0, [0.25, 0.5], [1, 4], [-1, 0])
    sol = solve(m, 3.0)
    assert not sol.reachable and sol.final == 2.75 and sol.cost == 5.0
    assert sol.chosen.all()


def test_already_reached_needs_nothing():
    sol = solve(model(3.0, [0.1], [1]), 3.0 + 5e-10)  # within the 1e-9 tolerance
    assert sol.reachable and not sol.chosen.any() and sol.cost == 0.0 and sol.final == 3.0


def test_free_steps_tie_broken_to_the_fewest():
    # every step is free: a 0.1 step alone reaches +0.1; two 0.05 steps would too, at the same cost 0
    sol = solve(model(1.0, [0.05, 0.1, 0.05], [0, 0, 0]), 1.1)
    assert sol.chosen.tolist() == [False, True, False] and sol.cost == 0.0


def test_exact_target_on_a_sum_of_steps():
    # 0.1 + 0.2 is 0.30000000000000004 in floats; 1 + 0.1 + 0.2 must count as reaching 1.3
    sol = solve(model(1.0, [0.1, 0.2, 0.35], [1, 1, 3]), 1.3)
    assert sol.chosen.tolist() == [True, True, False] and sol.cost == 2.0


# ----------------------------------------------------------------------------- brute force


def random_case(rng: random.Random):
    """A small model shaped as the store builds one: 2-4 rubric indicators (a fractional mean, a
    missing one at 0, a verified whole level), a metric indicator (whole steps), 1-2 programmes;
    custom efforts on some steps; an N/A indicator simply has no steps."""
    lo, hi = 0, 4
    gain, cost, prev, chains = [], [], [], []
    start = rng.uniform(1.0, 3.0)
    starts = [rng.choice([0.0, 1.0, 2.0, 2.5, 1.5, 3.0, 3.75, 4.0]) for _ in range(rng.randint(2, 4))]
    starts.append(float(rng.randint(lo, hi)))  # the metric indicator: a whole level
    for s in starts:
        g = rng.uniform(0.005, 0.12)
        chain = []
        for k in range(math.floor(s) + 1, hi + 1):
            gain.append(g * (k - max(s, k - 1)))
            cost.append(rng.choice([1.0, 1.0, 0.0, 2.0, 3.5, 10.0]))
            prev.append(chain[-1] if chain else -1)
            chain.append(len(gain) - 1)
        if chain:
            chains.append(chain)
    for _ in range(rng.randint(1, 2)):  # programmes
        gain.append(rng.uniform(0.01, 0.08))
        cost.append(1.0)
        prev.append(-1)
        chains.append([len(gain) - 1])
    return model(start, gain, cost, prev), chains


def brute_force(m: Model, chains, needed):
    """The least cost of any precedence-respecting choice (a prefix of every chain) that reaches."""
    best = None
    for cut in itertools.product(*(range(len(c) + 1) for c in chains)):
        picked = [j for c, n in zip(chains, cut) for j in c[:n]]
        value = math.fsum([m.start, *(m.gain[j] for j in picked)])
        if value >= needed - 1e-9:
            c = math.fsum(m.cost[j] for j in picked)
            best = c if best is None else min(best, c)
    return best


def test_milp_equals_brute_force_on_random_small_models():
    rng = random.Random(20)
    checked = unreachable = 0
    for _ in range(300):
        m, chains = random_case(rng)
        top = m.best
        needed = rng.uniform(m.start - 0.05, top + 0.05)
        sol = solve(m, needed)
        want = brute_force(m, chains, needed)
        if want is None:
            unreachable += 1
            assert not sol.reachable and sol.final == pytest.approx(top, abs=1e-12) and sol.chosen.all()
            continue
        checked += 1
        assert sol.reachable
        assert sol.final >= needed - 1e-9
        assert sol.cost == pytest.approx(want, rel=1e-9, abs=1e-9)
        # the chosen steps respect the order of each indicator's levels
        assert all(not sol.chosen[j] or m.prev[j] < 0 or sol.chosen[m.prev[j]] for j in range(len(m.gain)))
    assert checked > 200 and unreachable > 5


# ----------------------------------------------------------------------------- rank targets


def test_rank_needs_the_nth_other_and_a_tie_shares_it():
    others = [3.0, 2.5, 2.5, 2.0]
    assert needed_for_rank(others, 1) == 3.0
    assert needed_for_rank(others, 2) == 2.5
    assert needed_for_rank(others, 3) == 2.5
    assert needed_for_rank(others, 4) == 2.0
    assert needed_for_rank(others, 5) is None  # fewer than 5 others: any index is rank <= 5
    # equal to the N-th other: competition ranking (1 + cities strictly above) gives rank <= N
    for n in (2, 3, 4):
        me = needed_for_rank(others, n)
        ranked = scoring.competition_ranks([("me", me), *((f"c{i}", v) for i, v in enumerate(others))])
        assert next(r for c, _, r in ranked if c == "me") <= n


def test_rank_target_on_the_demo(demo_store):
    year = 2024
    scores = {s.city_code: s.index for s in scoring.score(demo_store, [year])}
    # 0199 is 4th nationally; rank 1 needs the best other city's index, the others held
    p = targets.plan(demo_store, SYSTEM, "0199", year, Target("rank", 1), "en")
    assert p.needed_index == max(v for c, v in scores.items() if c != "0199")
    assert p.reachable and p.final_index >= p.needed_index - 1e-9
    assert "held at their 2024 indexes" in p.held
    ranked = scoring.competition_ranks(
        [*((c, v) for c, v in scores.items() if c != "0199"), ("0199", p.final_index)]
    )
    assert next(r for c, _, r in ranked if c == "0199") == 1
    # 0199 is alone in its province: rank 1 there is already certain
    q = targets.plan(demo_store, SYSTEM, "0199", year, Target("rank", 1, "province"), "en")
    assert q.reachable and q.moves == () and "already certain" in q.held


# ----------------------------------------------------------------------------- the store's model


def test_model_reproduces_today_on_every_demo_city(demo_store):
    year = 2024
    for city in sorted(c.city_code for c in demo_store.cities()):
        today = scoring.city_score(demo_store, city, year).index
        p = targets.plan(demo_store, SYSTEM, city, year, Target("index", today))
        assert p.start_index == today and p.reachable and p.moves == ()
        # every move taken: the index the sum of the gains gives is what the plan reports
        top = targets.plan(demo_store, SYSTEM, city, year, Target("index", 4.0))
        assert not top.reachable
        assert top.final_index == pytest.approx(today + sum(m.gain for m in top.moves), abs=1e-12)
        assert top.moves[-1].index_after == pytest.approx(top.final_index, abs=1e-12)


def test_a_wrong_model_refuses(demo_store):
    with demo_store.cursor() as cur:  # (the store's own cursor: the same on both backends)
        cur.execute("UPDATE score_city SET index = index + 0.001 WHERE city_code = '0199' AND year = 2024")
    with pytest.raises(CoreError) as exc:
        targets.plan(demo_store, SYSTEM, "0199", 2024, Target("index", 3.5))
    assert exc.value.key == "target.core.model_mismatch" and exc.value.params["what"] == "index"


def test_programme_and_metric_moves_hand_checked(demo_store):
    # 0199 in 2024, default framework: dimension weights 0.1+0.2+0.3+0.2+0.2 = 1.0, all present; scale 0-4;
    # 6 top pillars. OUTCOME (0.3, masterplan): ECO 2 of 3 running, SOC 2 of 3; one more running adds
    # 0.3 * 4 / 3 / 6 = 0.0666...; QUICKWIN (0.2): ENV 1 of 2 running: one more adds 0.2 * 4 / 2 / 6 = 0.0666...
    p = targets.plan(demo_store, SYSTEM, "0199", 2024, Target("index", 4.0), "en")
    progs = {m.code: m for m in p.moves if m.kind == "programme"}
    assert sorted(progs) == ["ECO-MP02", "ENV-QW02", "SOC-MP02"]
    for m in progs.values():
        assert m.gain == pytest.approx(0.4 / 6, abs=1e-12) and m.effort == 1.0
        assert m.target_text.startswith("start running the programme ")
    # SOC-09 public wifi points per 100,000 inhabitants: 7 points, basis 4.516 -> level 1 of
    # thresholds 2/6/12/24; population 7 / 4.516129... * 100000 = 155,000; level 4 needs 24 per
    # 100,000, i.e. 24 * 155000 / 100000 = 37.2 points
    wifi = next(m for m in p.moves if m.code == "SOC-09")
    assert wifi.kind == "metric" and wifi.from_level == 1 and wifi.to_level == 4
    assert wifi.metric_needed == pytest.approx(37.2) and wifi.effort == 3.0
    # GOV-07 complaint response hours, lower is better: 62.97 h reaches 72 only (level 1); level 4 needs <= 8
    hours = next(m for m in p.moves if m.code == "GOV-07")
    assert hours.metric_needed == 8.0 and hours.metric_direction == "lower"
    assert hours.target_text.startswith("bring down to ≤ 8")
    # a rubric step's gain: d(index)/d(L) = W_d / sum W * w_i / sum w over the dimension
    fw = efforts.framework_in_force(demo_store, 2024)
    levels = scoring.indicator_levels(demo_store, "0199", 2024)
    lv = next(x for x in levels if x.source == "self" and x.score_level == 2.0)
    dim_w = {d.code: d.weight for d in fw.dimensions}[lv.dimension]
    in_dim = sum(x.weight for x in levels if x.dimension == lv.dimension and x.score_level is not None)
    move = next(m for m in p.moves if m.code == lv.code)
    assert move.gain == pytest.approx(dim_w / 1.0 * lv.weight / in_dim * 2, abs=1e-12)
    assert move.target_text == fw.indicator(lv.code).levels[4]["en"]


def test_custom_efforts_change_the_cost(demo_store):
    # LIV-03 is missing in 0199 (counted 0): four steps. With efforts 5 to level 1 and 0.5 to level 3
    # the whole climb costs 5 + 1 + 0.5 + 1 = 7.5
    efforts.set_efforts(
        demo_store,
        SYSTEM,
        "0199",
        2024,
        [efforts.EffortChange("LIV-03", 1, 5.0), efforts.EffortChange("LIV-03", 3, 0.5)],
    )
    p = targets.plan(demo_store, SYSTEM, "0199", 2024, Target("index", 4.0))
    move = next(m for m in p.moves if m.code == "LIV-03")
    assert move.from_level is None and move.to_level == 4 and move.effort == 7.5


def test_verified_levels_start_there_and_must_be_verified_again(demo_store):
    levels = {x.code: x for x in scoring.indicator_levels(demo_store, "1299", 2023)}
    verified = [c for c, x in levels.items() if x.source == "verified" and x.effective < 4]
    assert verified
    p = targets.plan(demo_store, SYSTEM, "1299", 2023, Target("index", 4.0), "en")
    for code in verified:
        m = next(m for m in p.moves if m.code == code)
        assert m.from_level == levels[code].verified_level and m.verify_again
        assert m.target_text.endswith("(the new level must be verified again by an assessor)")


def test_not_applicable_is_no_move(demo_store):
    na = [x.code for x in scoring.indicator_levels(demo_store, "5199", 2024) if x.source == "na"]
    assert len(na) == 1
    p = targets.plan(demo_store, SYSTEM, "5199", 2024, Target("index", 4.0), "en")
    assert na[0] not in {m.code for m in p.moves}
    assert any(na[0] in n and "not applicable" in n for n in p.notes)


def test_band_targets_and_bad_targets(demo_store):
    by_label = targets.plan(demo_store, SYSTEM, "0199", 2024, Target("band", "leading"))
    by_position = targets.plan(demo_store, SYSTEM, "0199", 2024, Target("band", 7))
    assert by_label.needed_index == by_position.needed_index == 3.6
    assert by_label.total_effort == by_position.total_effort and by_label.band_after == "Terdepan"
    with pytest.raises(ValidationError):
        targets.plan(demo_store, SYSTEM, "0199", 2024, Target("band", "Emas"))
    with pytest.raises(ValidationError):
        targets.plan(demo_store, SYSTEM, "0199", 2024, Target("rank", 0))
    with pytest.raises(ValidationError):
        targets.plan(demo_store, SYSTEM, "0199", 2024, Target("index", "nan"))


def test_by_opd_and_access(demo_store):
    p = targets.plan(demo_store, SYSTEM, "0199", 2024, Target("index", 4.0))
    groups = targets.by_opd(p)
    # every move appears under each OPD that answers it, in plan order
    for m in p.moves:
        for name in m.opd_names or ("Belum ada OPD",):
            assert m in groups[name]
    for tasks in groups.values():
        assert tasks == sorted(tasks, key=p.moves.index)
    # an OPD of the city reads its city's plan; a viewer and another city's OPD may not
    opd = User("op", "opd", "0199", "01")
    assert targets.plan(demo_store, opd, "0199", 2024, Target("index", 3.0)).reachable
    for user in (User("v", "viewer"), User("o", "opd", "3299", "01")):
        with pytest.raises(PermissionDenied):
            targets.plan(demo_store, user, "0199", 2024, Target("index", 3.0))


def test_situation(demo_store):
    s = targets.situation(demo_store, SYSTEM, "0199", 2024, "en")
    assert s.index == scoring.city_score(demo_store, "0199", 2024).index
    assert s.band == "Upper intermediate" and s.bands[0] == ("Early", 0.0) and s.bands[-1] == ("Leading", 3.6)
    assert s.ranks["province"] == (1, 1) and s.ranks["national"][1] == 7
    assert s.effort_unit == "langkah" and s.scale_max == 4


def test_two_hundred_indicators_are_solved_to_a_feasible_precedence_respecting_plan():
    # the solver on a national-size model (200 indicators x 4 steps, custom efforts); its speed
    # is measured by benchmarks/planning.py, not here
    rng = np.random.default_rng(7)
    n, steps = 200, 4
    gain = np.repeat(rng.uniform(0.0005, 0.005, n), steps)
    prev = np.array([-1 if k == 0 else i * steps + k - 1 for i in range(n) for k in range(steps)])
    cost = rng.integers(1, 6, n * steps)
    m = model(2.0, gain, cost, prev)
    needed = 2.0 + 0.6 * gain.sum()
    sol = solve(m, needed)
    chosen = sol.chosen
    assert sol.reachable and sol.final >= needed - 1e-9
    assert all(prev[j] < 0 or chosen[prev[j]] for j in np.flatnonzero(chosen))
    assert sol.cost == cost[chosen].sum()
