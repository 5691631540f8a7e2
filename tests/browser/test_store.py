"""The lab's model in the browser (issue 13): the store retires finished requests by virtual time on
its own, the stage only reads it, one table maps event kinds to what a request is doing (the stage
and a classroom phone use it), and what counts as a mitigation comes from the engine's schema.
The modules run in real Chromium, imported by the page exactly as the lab imports them."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.lab_helpers import event, feed, sample, started

SETUP = """async () => {
  window.M = {
    ...(await import("/static/js/lab/store.js")), ...(await import("/static/js/lab/states.js")),
    ...(await import("/static/js/lab/scenario.js")), ...(await import("/static/js/lab/render/stage.js")),
  };
}"""


def open_modules(page, live_server) -> None:
    page.goto(live_server.url + "/lessons")
    page.evaluate(SETUP)


def test_the_store_retires_ended_requests_by_virtual_time_with_no_view(page, live_server):
    open_modules(page, live_server)
    result = page.evaluate("""([a, b, c, d, s1, s2, late, set]) => {
      const store = new M.Store();
      store.started({run_id: "r", scenario: {strategy: {coalesce: "none"}}, duration_s: 4, viewers: 3});
      store.frame({run_id: "r", t: 0.1, events: [a, b, c]});
      const afterEnd = store.a.dots.size;                 // ended a moment ago: still there, for a fade
      store.frame({run_id: "r", t: 0.3, events: [s1]});
      store.frame({run_id: "r", t: 1.0, events: [s2]});
      const later = [...store.a.dots.keys()];             // the answered one is gone, the open one stays
      // Events of requests not on stage draw no dot: the answered one's query running on, another's write.
      store.frame({run_id: "r", t: 1.05, events: [late, set]});
      const afterLate = [...store.a.dots.keys()];
      store.frame({run_id: "r", t: 1.1, events: [d]});
      store.done({run_id: "r", summary: {}});
      return {afterEnd, later, afterLate, atDone: store.a.dots.size, cached: store.a.keyState("key-0", 1.05)};
    }""", [event(0.01, "arrive", req=0, attempt=0), event(0.02, "respond", req=0, attempt=0, status="ok", latency_ms=10, source="cache"),
           event(0.05, "arrive", req=1, attempt=0), event(1.05, "db_queued", req=1, query=3, queued=1),
           sample(0.3), sample(1.0), event(1.01, "db_finished", req=0, query=1),
           event(1.02, "cache_set", req=7, role="leader", ttl_s=60)])
    assert result == {"afterEnd": 2, "later": [1], "afterLate": [1], "atDone": 0, "cached": "fresh"}


def test_drawing_never_changes_the_store(page, live_server):
    open_modules(page, live_server)
    counts = page.evaluate("""([a, b]) => {
      const canvas = Object.assign(document.createElement("canvas"), {width: 600, height: 300});
      canvas.style.width = "600px"; canvas.style.height = "300px";
      document.body.append(canvas);
      const store = new M.Store();
      store.started({run_id: "r", scenario: {servers: {count: 1}}, duration_s: 4, viewers: 2});
      store.frame({run_id: "r", t: 0.1, events: [a, b]});
      const stage = new M.Stage(canvas, store.a, store, () => store.scenario);
      stage.resize();
      const before = [store.a.dots.size, store.a.resolutions.length, JSON.stringify([...store.a.dots.values()])];
      for (let i = 0; i < 120; i++) stage.draw({now: i * 50, dt: 0.05, reduced: false, big: false});
      const after = [store.a.dots.size, store.a.resolutions.length, JSON.stringify([...store.a.dots.values()])];
      return {before, after, drawn: stage.drawnDots().length};
    }""", [event(0.01, "arrive", req=0, attempt=0), event(0.02, "respond", req=0, attempt=0, status="ok", latency_ms=10, source="cache")])
    assert counts["before"] == counts["after"]
    assert counts["drawn"] == 0          # its fade (wall time) is over: the stage draws it no more


def test_one_table_maps_events_to_states(page, live_server):
    open_modules(page, live_server)
    got = page.evaluate("""() => {
      const dot = () => ({state: "travel", endT: null, query: null, leader: false, attempt: 0});
      const apply = (d, ev, coalesce = "promise") => { const s = M.applyEvent(d, ev, coalesce); if (s) d.state = s; return d.state; };
      const direct = dot();
      apply(direct, {kind: "fetch_start", role: "direct", query: 7}, "none");
      const orphan = dot();
      apply(orphan, {kind: "fetch_start", role: "leader", query: 1});
      apply(orphan, {kind: "retry", attempt: 1});
      const orphanState = apply(orphan, {kind: "db_finished", query: 1});      // its dead server's answer
      const answered = dot();
      apply(answered, {kind: "respond", status: "ok", latency_ms: 12.5, source: "stale", t: 1});
      const refresh = apply(answered, {kind: "fetch_start", role: "refresh", query: 2});
      const waiter = dot();
      apply(waiter, {kind: "promise_wait", leader: 41});
      const sleeper = dot(), poller = dot();
      const asleep = apply(sleeper, {kind: "lock_wait"}, "notify");
      const woken = apply(sleeper, {kind: "lock_poll"}, "notify");            // its lease ran out: asleep again
      apply(poller, {kind: "lock_wait"}, "lock");
      return {direct: [direct.role, direct.leader], orphanState, refresh, words: M.describeDot(waiter),
              sleeper: [asleep, woken, M.describeDot(sleeper)], poller: apply(poller, {kind: "lock_poll"}, "lock"),
              answeredWords: M.describeDot(answered), leaderWords: M.describeDot(Object.assign(dot(), {state: "miss", leader: true}))};
    }""")
    assert got["direct"] == ["direct", False]            # no coalescing: a fetch leads no one
    assert got["sleeper"] == ["sleep", "sleep", "asleep until the lock's holder wakes it"]   # notify: no polling
    assert got["poller"] == "poll"
    assert got["orphanState"] == "travel"
    assert got["refresh"] == "ok"                        # an answered request never changes again
    assert got["words"] == "waiting on request 41's promise"
    assert got["answeredWords"] == "answered in 13 ms (from the cache, stale)"
    assert got["leaderWords"] == "you lead the fetch: the others wait on you"


def test_what_counts_as_a_mitigation_comes_from_the_schema(page, live_server):
    open_modules(page, live_server)
    got = page.evaluate("""() => {
      const schema = [{key: "strategy.coalesce", off: "none"}, {key: "strategy.hedge_ms", off: 0},
                      {key: "cache.ttl_jitter", off: null}, {key: "clients.count", off: null}];
      const m = new M.Mitigations(schema);
      const scn = {strategy: {coalesce: "promise", hedge_ms: 20}, cache: {ttl_jitter: 0.3}};
      return {on: m.on(scn), words: m.describe(scn), without: m.without(scn), none: m.describe({strategy: {coalesce: "none"}})};
    }""")
    assert got["on"] == ["strategy.coalesce", "strategy.hedge_ms"]      # TTL jitter's off is null here: not one
    assert got["words"] == "promise coalescing, hedge ms"
    assert got["without"]["strategy"] == {"coalesce": "none", "hedge_ms": 0}
    assert got["none"] == "no mitigation"


def test_the_page_reads_off_from_the_schema(page, live_server):
    """A mitigation the engine adds (here: warm start) is one for the page as soon as the schema says
    what its "off" is: the caption names it, and it sits with the mitigations in the controls."""
    def with_new_mitigation(route):
        rows = route.fetch().json()
        for row in rows:
            row["off"] = {"strategy.coalesce": "none", "strategy.stale_while_revalidate": False,
                          "strategy.early_refresh_beta": 0, "strategy.prewarm": False, "cache.ttl_jitter": 0,
                          "clients.backoff": "none", "workload.warm_start": False}.get(row["key"])
        route.fulfill(json=rows)
    page.route("**/api/schema", with_new_mitigation)
    page.goto(live_server.url + "/lab")
    page.locator('[data-control="preset"]').wait_for()
    feed(page, "started", started(scenario={"workload": {"warm_start": True}, "strategy": {"coalesce": "none"},
                                            "servers": {"count": 1}}))
    expect(page.locator('[data-role="cap-a"]')).to_contain_text("· warm start")
    section = page.locator('[data-control="workload.warm_start"]').evaluate(
        "(el) => { let h = null; for (const x of el.closest('details').querySelectorAll('h3, [data-control]')) {"
        " if (x.tagName === 'H3') h = x.textContent; if (x === el) return h; } }")
    assert section == "Mitigation tuning"
    assert page.js_errors == []


def test_a_late_refusal_of_a_control_does_not_cancel_the_start_sent_after_it(page, live_server):
    """Handlers may answer out of order: a pause refused (no run_id, answers "control") that arrives
    just after Run is said, and the run the server then starts is taken and played. A refused start
    (answers "start") still ends the wait, and a `started` after it is not taken."""
    open_modules(page, live_server)
    page.evaluate("async () => { window.T = await import('/static/js/lab/transport.js'); }")
    result = page.evaluate("""([run]) => {
      const sent = [];
      const socket = {on() {}, off() {}, emit: (name, payload) => sent.push(name)};
      const outcome = (answers) => {
        const store = new M.Store();
        const transport = new T.LabTransport(store, {socket});
        transport.start({scenario: {}});
        transport.receive("error", {message: "No run with that 'run_id' on this connection.", field: "run_id", run_id: null, answers}, true);
        const afterError = store.status, said = store.error?.message ?? null;
        transport.receive("started", run, true);
        return {afterError, said, runId: store.runId};
      };
      return {control: outcome("control"), start: outcome("start"), sent};
    }""", [started(run_id="r1")])
    assert result["control"] == {"afterError": "starting", "runId": "r1",
                                 "said": "No run with that 'run_id' on this connection."}
    assert result["start"] == {"afterError": "idle", "runId": None,
                               "said": "No run with that 'run_id' on this connection."}
    assert result["sent"] == ["start", "start"]
    assert page.js_errors == []
