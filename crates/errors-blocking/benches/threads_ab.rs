//! The same comparison as the `threads` bench (one shared `errors_blocking::Client` against
//! one shared `reqwest::blocking::Client`, 1/2/4/8 threads, GETs to a minimal keep-alive
//! server in the process, each body read whole), measured as paired rounds so the ratio
//! holds still on a busy machine: for each thread count, `ROUNDS` rounds, each timing the
//! same number of requests through ours and through reqwest back to back (the order
//! alternating from round to round). Each round gives one ratio; the report is their
//! median with the lowest and highest, next to the median throughputs.
//!
//! `cargo bench -p errors-blocking --bench threads_ab`
//! (`-- ours` or `-- theirs` runs one client only, for a profiler; `-- rounds=N` changes the
//! number of rounds, `-- threads=2,8` the thread counts.)

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
    let only_ours = args.iter().any(|a| a == "ours");
    let only_theirs = args.iter().any(|a| a == "theirs");
    let rounds = args
        .iter()
        .find_map(|a| a.strip_prefix("rounds=")?.parse().ok())
        .unwrap_or(ROUNDS);
    let thread_counts: Vec<usize> = args
        .iter()
        .find_map(|a| {
            let list = a.strip_prefix("threads=")?;
            list.split(',').map(|n| n.parse().ok()).collect()
        })
        .unwrap_or_else(|| vec![1, 2, 4, 8]);

    let url = support::server();
    let ours_client = errors_blocking::Client::builder().build().unwrap();
    let theirs_client = reqwest::blocking::Client::new();
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

    println!(
        "threads | ours req/s (median) | reqwest req/s (median) | ratio median [min, max] over {rounds} rounds"
    );
    for &n in &thread_counts {
        // Warm both pools to this many connections.
        round(n, &ours);
        round(n, &theirs);
        let (mut a, mut b, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..rounds {
            if only_ours {
                a.push(round(n, &ours));
                continue;
            }
            if only_theirs {
                b.push(round(n, &theirs));
                continue;
            }
            let (x, y) = if r % 2 == 0 {
                let x = round(n, &ours);
                (x, round(n, &theirs))
            } else {
                let y = round(n, &theirs);
                (round(n, &ours), y)
            };
            a.push(x);
            b.push(y);
            ratios.push(x / y);
        }
        let ma = if a.is_empty() { 0.0 } else { median(&mut a) };
        let mb = if b.is_empty() { 0.0 } else { median(&mut b) };
        if ratios.is_empty() {
            println!("{n} | {ma:.0} | {mb:.0} | -");
        } else {
            let mr = median(&mut ratios);
            println!(
                "{n} | {ma:.0} | {mb:.0} | {mr:.3} [{:.3}, {:.3}]",
                ratios[0],
                ratios[ratios.len() - 1]
            );
        }
    }
}
