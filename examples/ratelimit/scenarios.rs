//! The scenarios beyond one route and one steady limit: several routes, a limit shared by a
//! whole key, long and changing windows, random 429s, repeated runs and latency under
//! open-loop arrivals (the commands are at the top of ratelimit.rs). Each runs both clients,
//! every run from a fresh client against a fresh server, and prints one markdown table
//! (`small-burst`: one per variant).

use std::time::Duration;

use super::{
    ChangingBucket, Client, FixedWindow, Lane, LaneResult, Limiter, Peer, RandomRejects, Route,
    Run, Running, Says, Setup, TokenBucket, failed_of, header, item_path, line, per_call, run_on,
    secs, serve, slowapi, vs,
};

/// A call is given up after this: longer than the `ApiClient`'s own deadline (120 s by
/// default), so that it is the client that decides when to give up.
const CALL_CAP: Duration = Duration::from_secs(180);

/// The seed of the random scenarios: which requests `random` rejects, when `poisson`'s calls
/// arrive. Both clients meet the same sequence.
const SEED: u64 = 7;

/// The limit stated in the 429's message, or not.
const STATED_OR_NOT: [(&str, Says); 2] = [("stated", Says::Message), ("not stated", Says::Nothing)];

fn search_path(i: usize) -> String {
    format!("search?q={i}")
}

fn analysis_path(_: usize) -> String {
    "images/7/analysis".to_owned()
}

/// A fresh local server with `setup`, driven by a fresh client of `peer`.
async fn run_local(setup: Setup, peer: Peer, lanes: &[Lane]) -> Run {
    let server = Running::Local(serve(setup).await);
    run_on(server, peer, lanes, CALL_CAP)
        .await
        .expect("the local server always has its counts")
}

/// Scenario 1: `/v1/search` behind a token bucket of 10/s holding 10, `/v1/items` not limited, one
/// client on both at once: does a 429 on `/v1/search` hold `/v1/items` back?
pub(super) async fn routes() {
    let start = async |says: Says| -> Result<Running, String> {
        let setup = Setup {
            routes: vec![
                Route {
                    path: "/v1/search",
                    limiter: Some(0),
                },
                Route {
                    path: "/v1/items",
                    limiter: None,
                },
            ],
            limiters: vec![Box::new(TokenBucket::new(10, 1, 10))],
            says,
        };
        Ok(Running::Local(serve(setup).await))
    };
    let heading = "routes: /v1/search behind a token bucket 10/s holding 10, /v1/items not limited";
    routes_table(heading, 3000, &STATED_OR_NOT, start).await;
}

/// Scenario 2: `routes` behind FastAPI + slowapi: `/v1/search` decorated `10/second` (a fixed
/// window, the API's envelope on 429), `/v1/items` undecorated.
pub(super) async fn routes_slowapi() {
    let python = match slowapi::python_ready() {
        Ok(python) => python,
        Err(why) => return println!("\nroutes-slowapi: skipped: {why}"),
    };
    let settings = [
        ("SLOWAPI_APP_SEARCH_LIMIT", "10/second"),
        ("SLOWAPI_APP_LIMIT", "none"),
        ("SLOWAPI_APP_ANSWER", "envelope"),
    ];
    let start = async |_: Says| -> Result<Running, String> {
        let app = tokio::task::block_in_place(|| slowapi::start(&python, &settings))?;
        Ok(Running::App(app))
    };
    let heading = "routes-slowapi: FastAPI + slowapi, /v1/search decorated 10/second (fixed \
                   window, the API's envelope), /v1/items undecorated";
    let variants = [("stated (envelope)", Says::Message)];
    routes_table(heading, 1000, &variants, start).await;
}

/// The table of `routes` and `routes-slowapi`. For each variant and client: 300 GETs of
/// `/v1/search` and `items` GETs of `/v1/items` at once from one client, 16 callers on each,
/// then the `/v1/items` calls alone from a fresh client; `start` starts a fresh server.
async fn routes_table(
    heading: &str,
    items: usize,
    variants: &[(&str, Says)],
    start: impl AsyncFn(Says) -> Result<Running, String>,
) {
    const SEARCHES: usize = 300;
    let ideal = SEARCHES as f64 / 10.0;
    let search = Lane {
        path: search_path,
        calls: SEARCHES,
        callers: 16,
    };
    let item = Lane {
        path: item_path,
        calls: items,
        callers: 16,
    };
    header(
        &format!(
            "{heading}; one client, 16 callers on each route at once: {SEARCHES} GETs of \
             /v1/search (ideal {ideal:.1} s) and {items} of /v1/items; then the /v1/items \
             calls alone (fresh client, fresh server)"
        ),
        &[
            "limit",
            "client",
            "/v1/search wall",
            "ideal",
            "vs ideal",
            "requests/call",
            "429s",
            "/v1/items beside",
            "alone",
            "beside/alone",
            "requests/call",
            "failed (search, items, items alone)",
        ],
    );
    for &(limit, says) in variants {
        for peer in Peer::BOTH {
            let runs: Result<(Run, Run), String> = async {
                let beside = run_on(start(says).await?, peer, &[search, item], CALL_CAP).await?;
                let alone = run_on(start(says).await?, peer, &[item], CALL_CAP).await?;
                Ok((beside, alone))
            }
            .await;
            let (beside, alone) = match runs {
                Ok(runs) => runs,
                Err(e) => {
                    line(&[limit, peer.label(), &format!("skipped: {e}")]);
                    continue;
                }
            };
            let (search_wall, items_wall) = (beside.lanes[0].wall, beside.lanes[1].wall);
            let alone_wall = alone.lanes[0].wall;
            let (search_requests, rejected) = beside.counts.route("/v1/search");
            let (items_requests, _) = beside.counts.route("/v1/items");
            line(&[
                limit.to_owned(),
                peer.label().to_owned(),
                secs(search_wall),
                format!("{ideal:.1} s"),
                vs(search_wall, ideal),
                per_call(search_requests, SEARCHES),
                rejected.to_string(),
                // `/v1/items` may take well under a second alone: finer than `secs`.
                format!("{:.2} s", items_wall.as_secs_f64()),
                format!("{:.2} s", alone_wall.as_secs_f64()),
                vs(items_wall, alone_wall.as_secs_f64()),
                per_call(items_requests, items),
                format!(
                    "{}, {}, {}",
                    beside.lanes[0].failed, beside.lanes[1].failed, alone.lanes[0].failed
                ),
            ]);
        }
    }
}

/// Scenario 3: one token bucket of 30/s holding 30 for the whole key, shared by three routes: 16
/// callers on each, 300 calls each.
pub(super) async fn keywide() {
    const CALLS: usize = 300;
    let routes = ["/v1/search", "/v1/images/7/analysis", "/v1/items"];
    let paths: [fn(usize) -> String; 3] = [search_path, analysis_path, item_path];
    let lanes = paths.map(|path| Lane {
        path,
        calls: CALLS,
        callers: 16,
    });
    let total = CALLS * lanes.len();
    let ideal = total as f64 / 30.0;
    header(
        &format!(
            "keywide: one token bucket 30/s holding 30 shared by {}; one client, 16 callers on \
             each route, {CALLS} GETs each ({total} in all, ideal {ideal:.1} s)",
            routes.join(", ")
        ),
        &[
            &RUN_COLUMNS[..],
            &["requests/call per route", "wall per route", "failed"],
        ]
        .concat(),
    );
    for (limit, says) in STATED_OR_NOT {
        for peer in Peer::BOTH {
            let setup = Setup {
                routes: routes
                    .iter()
                    .map(|&path| Route {
                        path,
                        limiter: Some(0),
                    })
                    .collect(),
                limiters: vec![Box::new(TokenBucket::new(30, 1, 30))],
                says,
            };
            let run = run_local(setup, peer, &lanes).await;
            let per_route: Vec<String> = routes
                .iter()
                .map(|route| per_call(run.counts.route(route).0, CALLS))
                .collect();
            let walls: Vec<String> = run
                .lanes
                .iter()
                .map(|lane| format!("{:.1}", lane.wall.as_secs_f64()))
                .collect();
            let mut cells = run_cells(limit, peer, &run, ideal, total);
            cells.extend([
                per_route.join(" / "),
                format!("{} s", walls.join(" / ")),
                failed_of(run.failed(), total),
            ]);
            line(&cells);
        }
    }
}

/// The columns a table of closed-loop runs starts with; [`run_cells`] fills them.
const RUN_COLUMNS: [&str; 7] = [
    "limit",
    "client",
    "wall",
    "ideal",
    "vs ideal",
    "requests/call",
    "429s",
];

/// The [`RUN_COLUMNS`] of `run`, `limit`'s row for `peer`: its wall time against `ideal`
/// seconds, and the requests and 429s at the server for its `calls` calls.
fn run_cells(limit: &str, peer: Peer, run: &Run, ideal: f64, calls: usize) -> Vec<String> {
    let (requests, rejected) = run.counts.total();
    vec![
        limit.to_owned(),
        peer.label().to_owned(),
        secs(run.wall()),
        format!("{ideal:.1} s"),
        vs(run.wall(), ideal),
        per_call(requests, calls),
        rejected.to_string(),
    ]
}

/// A variant of a one-route scenario: its rows' name, what the 429s say, and its limiter
/// (made afresh for each run).
struct Variant<'a> {
    limit: &'static str,
    says: Says,
    make: &'a dyn Fn() -> Box<dyn Limiter>,
}

/// A one-route scenario's table: for each variant and client, `lane` against a fresh server
/// behind the variant's limiter, the wall time against `ideal` seconds. With `drop_at`, a
/// column of the 429s sent from then on (from the first request).
async fn one_route(
    heading: &str,
    variants: &[Variant<'_>],
    lane: Lane,
    ideal: f64,
    drop_at: Option<Duration>,
) {
    let mut columns = RUN_COLUMNS.to_vec();
    let after = drop_at.map(|at| format!("429s from {} s (the drop)", at.as_secs()));
    columns.extend(after.as_deref());
    columns.push("failed");
    header(heading, &columns);
    for variant in variants {
        for peer in Peer::BOTH {
            let setup = Setup::one_route((variant.make)(), variant.says);
            let run = run_local(setup, peer, &[lane]).await;
            let mut cells = run_cells(variant.limit, peer, &run, ideal, lane.calls);
            cells.extend(drop_at.map(|at| run.counts.rejected_from(at).to_string()));
            cells.push(failed_of(run.failed(), lane.calls));
            line(&cells);
        }
    }
}

/// When the window that admits the last of `calls` calls opens, for a fixed window of
/// `limit` calls per `secs` seconds: the best any client can do, but for that call's latency.
fn last_window_start(calls: usize, limit: u32, secs: u32) -> f64 {
    ((calls - 1) / limit as usize) as f64 * f64::from(secs)
}

/// Scenario 4: a fixed window of 100 calls per 60 s (stated), 250 calls 16 at a time: the last 50
/// can only start when the third window opens, at 120 s.
pub(super) async fn window() {
    fixed_window("window", (100, 60), ("stated", Says::Message), 250).await;
}

/// A `name` scenario: a fixed window of `limit` calls per `secs` seconds, the rows named
/// `stated` and the 429s saying what `says` says; `calls` calls 16 at a time.
async fn fixed_window(
    name: &str,
    (limit, secs): (u32, u32),
    (stated, says): (&'static str, Says),
    calls: usize,
) {
    let lane = Lane {
        path: item_path,
        calls,
        callers: 16,
    };
    let ideal = last_window_start(lane.calls, limit, secs);
    let heading = format!(
        "{name}: fixed window {limit} calls per {secs} seconds ({stated}), {calls} GETs 16 at a \
         time, ideal {ideal:.1} s (the last window's start)"
    );
    let variants = [Variant {
        limit: stated,
        says,
        make: &|| Box::new(FixedWindow::new(limit, secs)),
    }];
    one_route(&heading, &variants, lane, ideal, None).await;
}

/// The `changing` bucket's rate per second, from the second given: 50, 20 from 5 s, 50 again
/// from 15 s.
const CHANGES: &[(u64, u32)] = &[(0, 50), (5, 20), (15, 50)];

/// Scenario 5: a token bucket whose rate (and burst) drops from 50/s to 20/s at 5 s and comes back
/// at 15 s: 1,000 calls 64 at a time; the limit stated (the rate in force), not stated, and stated
/// with `RateLimit-Policy` on every response.
pub(super) async fn changing() {
    let lane = Lane {
        path: item_path,
        calls: 1000,
        callers: 64,
    };
    let ideal = ChangingBucket::ideal(CHANGES, lane.calls);
    let heading = format!(
        "changing: token bucket 50/s holding 50, 20/s holding 20 from 5 s, 50/s holding 50 \
         from 15 s (from the first request); {} GETs 64 at a time, ideal {ideal:.1} s (the \
         rate's integral)",
        lane.calls
    );
    let make: fn() -> Box<dyn Limiter> = || Box::new(ChangingBucket::new(CHANGES));
    let variants = [
        Variant {
            limit: "stated (the rate in force)",
            says: Says::Message,
            make: &make,
        },
        Variant {
            limit: "not stated",
            says: Says::Nothing,
            make: &make,
        },
        Variant {
            limit: "stated + RateLimit-Policy on every response",
            says: Says::MessageAndPolicy,
            make: &make,
        },
    ];
    let drop_at = Duration::from_secs(CHANGES[1].0);
    one_route(&heading, &variants, lane, ideal, Some(drop_at)).await;
}

/// Scenario 6: nothing limited, but 10% of the requests (seeded) answered 429 with
/// `Retry-After: 1`, the limit not stated: 2,000 calls 64 at a time. No ideal: the wall time.
pub(super) async fn random() {
    let lane = Lane {
        path: item_path,
        calls: 2000,
        callers: 64,
    };
    header(
        &format!(
            "random: no limit, but 10% of the requests (seeded) answered 429 with Retry-After: \
             1, limit not stated; {} GETs 64 at a time",
            lane.calls
        ),
        &["client", "wall", "requests/call", "429s", "failed"],
    );
    for peer in Peer::BOTH {
        let limiter = RandomRejects {
            share: 0.1,
            rng: fastrand::Rng::with_seed(SEED),
        };
        let setup = Setup::one_route(Box::new(limiter), Says::Nothing);
        let run = run_local(setup, peer, &[lane]).await;
        let (requests, rejected) = run.counts.total();
        line(&[
            peer.label().to_owned(),
            secs(run.wall()),
            per_call(requests, lane.calls),
            rejected.to_string(),
            failed_of(run.failed(), lane.calls),
        ]);
    }
}

/// Scenario 7: a fixed window of 20 calls per 10 s, the limit not stated: 80 calls 16 at a time,
/// the last 20 can only start when the fourth window opens, at 30 s.
pub(super) async fn window_unstated() {
    fixed_window(
        "window-unstated",
        (20, 10),
        ("not stated", Says::Nothing),
        80,
    )
    .await;
}

/// Scenario 8: a token bucket of 1 call per 2 s holding 1 (stated): 15 calls 8 at a time, the first
/// at 0 and the last at 28 s at best.
pub(super) async fn slow() {
    let lane = Lane {
        path: item_path,
        calls: 15,
        callers: 8,
    };
    let ideal = (lane.calls - 1) as f64 * 2.0;
    let heading = format!(
        "slow: token bucket 1 call per 2 seconds holding 1 (stated), {} GETs 8 at a time, ideal \
         {ideal:.1} s (the first call at 0, the last at {ideal:.0} s)",
        lane.calls
    );
    let variants = [Variant {
        limit: "stated",
        says: Says::Message,
        make: &|| Box::new(TokenBucket::new(1, 2, 1)),
    }];
    one_route(&heading, &variants, lane, ideal, None).await;
}

/// Scenario 9: a token bucket of 50/s holding 5, `runs` times for each variant: how many runs end
/// within 1.05x of the ideal where the limit is stated, 1.3x where it is not?
pub(super) async fn small_burst(runs: usize) {
    let lane = Lane {
        path: item_path,
        calls: 1000,
        callers: 64,
    };
    let ideal = lane.calls as f64 / 50.0;
    for ((limit, says), within) in STATED_OR_NOT.into_iter().zip([1.05, 1.3]) {
        header(
            &format!(
                "small-burst, limit {limit}: token bucket 50/s holding 5, {} GETs 64 at a time, \
                 ideal {ideal:.1} s, {runs} runs",
                lane.calls
            ),
            &[
                "run",
                "ApiClient: wall/ideal",
                "requests/call",
                "failed",
                "reqwest-retry: wall/ideal",
                "requests/call",
                "failed",
            ],
        );
        let mut good = [0; 2];
        for run in 1..=runs {
            let mut cells = vec![run.to_string()];
            for (peer, good) in Peer::BOTH.into_iter().zip(&mut good) {
                let setup = Setup::one_route(Box::new(TokenBucket::new(50, 1, 5)), says);
                let result = run_local(setup, peer, &[lane]).await;
                let ratio = result.wall().as_secs_f64() / ideal;
                if ratio <= within && result.failed() == 0 {
                    *good += 1;
                }
                cells.extend([
                    format!("{ratio:.3}x"),
                    per_call(result.counts.total().0, lane.calls),
                    failed_of(result.failed(), lane.calls),
                ]);
            }
            line(&cells);
        }
        println!(
            "\nwithin {within}x of the ideal, no call failed: ApiClient {} of {runs} runs, \
             reqwest-retry {} of {runs}",
            good[0], good[1]
        );
    }
}

/// Scenario 10: open-loop Poisson arrivals (seeded) at 80% of a stated token bucket of 50/s holding
/// 50, 2,000 calls: the latency the limiter adds, against the same arrivals at a server that never
/// limits.
pub(super) async fn poisson() {
    const CALLS: usize = 2000;
    const RATE: u32 = 50;
    let load = 0.8 * f64::from(RATE);
    let arrivals = poisson_arrivals(CALLS, load, SEED);
    header(
        &format!(
            "poisson: {CALLS} GETs arriving at random (Poisson, seeded) at {load:.0}/s, open \
             loop, to a token bucket {RATE}/s holding {RATE} (stated), and the same arrivals to \
             a server that never limits; latency from each call's arrival"
        ),
        &[
            "client",
            "p50",
            "p99",
            "p50, no limiter",
            "p99, no limiter",
            "added p99",
            "requests/call",
            "429s",
            "failed (no limiter)",
        ],
    );
    for peer in Peer::BOTH {
        let limiter = Box::new(TokenBucket::new(RATE, 1, RATE));
        let limited = run_arrivals(Setup::one_route(limiter, Says::Message), peer, &arrivals).await;
        let free = run_arrivals(Setup::unlimited(), peer, &arrivals).await;
        let (p50, p99) = percentiles(limited.latencies);
        let (free_p50, free_p99) = percentiles(free.latencies);
        let added = p99.as_secs_f64() - free_p99.as_secs_f64();
        let (requests, rejected) = limited.counts;
        line(&[
            peer.label().to_owned(),
            ms(p50),
            ms(p99),
            ms(free_p50),
            ms(free_p99),
            format!("{:+.1} ms", added * 1e3),
            per_call(requests, CALLS),
            rejected.to_string(),
            format!("{} ({})", failed_of(limited.failed, CALLS), free.failed),
        ]);
    }
}

/// `calls` arrival times of a Poisson process of `rate` per second, from `seed`.
fn poisson_arrivals(calls: usize, rate: f64, seed: u64) -> Vec<Duration> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut at = 0.0;
    (0..calls)
        .map(|_| {
            // Exponential gaps; 1 - f64() is in (0, 1], so the logarithm is finite.
            at += -(1.0 - rng.f64()).ln() / rate;
            Duration::from_secs_f64(at)
        })
        .collect()
}

/// What an open-loop run saw: latencies, failed calls, (requests, 429s) at the server.
struct OpenLoop {
    latencies: Vec<Duration>,
    failed: usize,
    counts: (u64, u64),
}

/// `arrivals` against a fresh local server with `setup`, from a fresh client of `peer`.
async fn run_arrivals(setup: Setup, peer: Peer, arrivals: &[Duration]) -> OpenLoop {
    let server = serve(setup).await;
    let client = Client::new(peer, &server.url);
    let LaneResult {
        latencies, failed, ..
    } = drive_arrivals(&client, item_path, arrivals, CALL_CAP).await;
    OpenLoop {
        latencies,
        failed,
        counts: server.counts().total(),
    }
}

/// Open loop: call `i` is sent at `arrivals[i]` from the start, whatever the calls before it
/// are doing, and its latency counts from then. (The waits here are the arrival schedule, not
/// waits for anything to be ready.)
async fn drive_arrivals(
    client: &Client,
    path: fn(usize) -> String,
    arrivals: &[Duration],
    cap: Duration,
) -> LaneResult {
    let started = tokio::time::Instant::now();
    let calls: Vec<_> = arrivals
        .iter()
        .enumerate()
        .map(|(i, &at)| {
            let client = client.clone();
            tokio::spawn(async move {
                let arrival = started + at;
                tokio::time::sleep_until(arrival).await;
                let path = path(i);
                let call = client.get(&path);
                let ok = tokio::time::timeout(cap, call).await.unwrap_or(false);
                (arrival.elapsed(), ok)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(calls.len());
    let mut failed = 0;
    for call in calls {
        match call.await {
            Ok((latency, ok)) => {
                latencies.push(latency);
                failed += usize::from(!ok);
            }
            Err(_) => failed += 1,
        }
    }
    LaneResult {
        wall: started.elapsed(),
        failed,
        latencies,
    }
}

/// The median and the 99th percentile (nearest rank) of `latencies`.
fn percentiles(mut latencies: Vec<Duration>) -> (Duration, Duration) {
    latencies.sort();
    let rank = |q: f64| {
        let rank = (q * latencies.len() as f64).ceil() as usize;
        latencies.get(rank.max(1) - 1).copied().unwrap_or_default()
    };
    (rank(0.5), rank(0.99))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}
