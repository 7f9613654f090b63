//! The same comparison as the `threads` bench (one shared `errors_blocking::ApiClient` against
//! one shared `reqwest::blocking::Client`, 1/2/4/8 threads, GETs to a minimal keep-alive
//! server in the process, each body read whole), measured as paired rounds so the ratio
//! holds still on a busy machine: for each thread count, `ROUNDS` rounds, each timing the
//! same number of requests through ours and through reqwest back to back (the order
//! alternating from round to round). Each round gives one ratio; the report is their
//! median with the lowest and highest, next to the median throughputs.
//!
//! A third contender, `bare`, is a bare `reqwest::Client` driven exactly as the facade drives
//! its stack (a current-thread runtime on a thread of its own, `Handle::block_on` on the
//! caller): the threading model without the stack, to tell the two costs apart.
//!
//! Two more try other threading models (BENCHMARKS.md, "other threading models"):
//! `ours_spawned` is the facade's async stack (`ApiClient::send`) spawned whole onto a
//! runtime thread, the caller waiting on a oneshot: `reqwest::blocking`'s model with our
//! stack. `bare_turns` is bare reqwest on one current-thread runtime that the calling
//! threads drive in turn (`Runtime::block_on` shared: the caller holding the driver runs
//! everyone's connections), with no thread of its own, so nothing drives the pool between
//! calls.
//!
//! `cargo bench -p errors-blocking --bench threads_ab`
//! (`-- pair=ours,bare` or `-- pair=bare,theirs` compares another pair; `-- only=ours` runs
//! one contender, for a profiler; `-- rounds=N` changes the number of rounds,
//! `-- threads=2,8` the thread counts.)

#[path = "support/server.rs"]
mod support;

use std::time::Instant;

/// Requests per round for each client, shared among the threads.
const PER_ROUND: usize = 4000;

/// Paired rounds per thread count unless `rounds=N` is given.
const ROUNDS: usize = 11;

/// Requests per second for `PER_ROUND` requests spread over `threads` threads, each running
/// `call` in a bounded loop.
fn round(threads: usize, call: &(dyn Fn() + Sync)) -> f64 {
    let per_thread = PER_ROUND / threads;
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                for _ in 0..per_thread {
                    call();
                }
            });
        }
    });
    (per_thread * threads) as f64 / start.elapsed().as_secs_f64()
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |name: &str| args.iter().find_map(|a| a.strip_prefix(name));
    let rounds = arg("rounds=")
        .and_then(|n| n.parse().ok())
        .unwrap_or(ROUNDS);
    let thread_counts: Vec<usize> = arg("threads=")
        .and_then(|list| list.split(',').map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![1, 2, 4, 8]);
    let (first, second) = arg("pair=")
        .and_then(|pair| pair.split_once(','))
        .unwrap_or(("ours", "theirs"));
    let only = arg("only=");

    let url = support::server();
    let ours_client = errors_blocking::ApiClient::builder().build().unwrap();
    let theirs_client = reqwest::blocking::Client::new();
    let bare_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let bare_handle = bare_runtime.handle().clone();
    std::thread::spawn(move || bare_runtime.block_on(std::future::pending::<()>()));
    let bare_client = reqwest::Client::new();
    let spawned_api = errors_http::ApiClient::builder().build().unwrap();
    let turns_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let turns_client = reqwest::Client::new();

    let ours = || {
        let response = ours_client
            .send(ours_client.request(errors_blocking::Method::GET, &url))
            .unwrap();
        assert_eq!(response.body.len(), support::BODY_LEN);
    };
    let theirs = || {
        let body = theirs_client.get(&url).send().unwrap().bytes().unwrap();
        assert_eq!(body.len(), support::BODY_LEN);
    };
    let bare = || {
        let body = bare_handle.block_on(async {
            let response = bare_client.get(&url).send().await.unwrap();
            response.bytes().await.unwrap()
        });
        assert_eq!(body.len(), support::BODY_LEN);
    };
    let ours_spawned = || {
        let api = spawned_api.clone();
        let url = url.clone();
        let (sender, receiver) = tokio::sync::oneshot::channel();
        bare_handle.spawn(async move {
            let response = api
                .send(api.request(errors_blocking::Method::GET, &url))
                .await;
            let _ = sender.send(response);
        });
        let response = receiver.blocking_recv().unwrap().unwrap();
        assert_eq!(response.body.len(), support::BODY_LEN);
    };
    let bare_turns = || {
        let body = turns_runtime.block_on(async {
            let response = turns_client.get(&url).send().await.unwrap();
            response.bytes().await.unwrap()
        });
        assert_eq!(body.len(), support::BODY_LEN);
    };
    let contender = |name: &str| -> &(dyn Fn() + Sync) {
        match name {
            "ours_spawned" => &ours_spawned,
            "bare_turns" => &bare_turns,
            "ours" => &ours,
            "theirs" => &theirs,
            "bare" => &bare,
            other => {
                panic!("no contender {other:?}: ours, theirs, bare, ours_spawned or bare_turns")
            }
        }
    };

    if let Some(name) = only {
        println!("threads | {name} req/s (median over {rounds} rounds)");
        for &n in &thread_counts {
            round(n, contender(name));
            let mut rates: Vec<f64> = (0..rounds).map(|_| round(n, contender(name))).collect();
            println!("{n} | {:.0}", median(&mut rates));
        }
        return;
    }
    let (a_call, b_call) = (contender(first), contender(second));
    println!(
        "threads | {first} req/s (median) | {second} req/s (median) | ratio median [min, max] over {rounds} rounds"
    );
    for &n in &thread_counts {
        // Warm both pools to this many connections.
        round(n, a_call);
        round(n, b_call);
        let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            let (x, y) = if r % 2 == 0 {
                let x = round(n, a_call);
                (x, round(n, b_call))
            } else {
                let y = round(n, b_call);
                (round(n, a_call), y)
            };
            a.push(x);
            b.push(y);
            ratios.push(x / y);
        }
        let (ma, mb, mr) = (median(&mut a), median(&mut b), median(&mut ratios));
        println!(
            "{n} | {ma:.0} | {mb:.0} | {mr:.3} [{:.3}, {:.3}]",
            ratios[0],
            ratios[ratios.len() - 1]
        );
    }
}
