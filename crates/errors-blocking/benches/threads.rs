//! Throughput of one shared blocking client used by 1, 2, 4 and 8 threads, against one shared
//! `reqwest::blocking::Client`, in the same run: GETs to a minimal keep-alive HTTP/1.1 server
//! on 127.0.0.1 (its own two-worker runtime), each body read whole.
//!
//! `cargo bench -p errors-blocking --bench threads`

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// Requests each thread sends per iteration.
const PER_THREAD: usize = 25;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";

/// A keep-alive server answering every request with `RESPONSE`, one thread per connection
/// (the clients keep a handful of pooled connections). Runs until the process exits.
fn server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1/ping", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(socket) = socket else { return };
            std::thread::spawn(move || serve(socket));
        }
    });
    url
}

fn serve(mut socket: TcpStream) {
    let _ = socket.set_nodelay(true);
    let mut buf = vec![0u8; 8192];
    let mut filled = 0;
    loop {
        match socket.read(&mut buf[filled..]) {
            Ok(0) | Err(_) => return,
            Ok(n) => filled += n,
        }
        // Answer every complete request head in the buffer (GETs: no bodies).
        while let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            if socket.write_all(RESPONSE).is_err() {
                return;
            }
            buf.copy_within(end + 4..filled, 0);
            filled -= end + 4;
        }
        if filled == buf.len() {
            return;
        }
    }
}

fn threads(c: &mut Criterion) {
    let url = server();
    let ours = errors_blocking::Client::builder().build().unwrap();
    let no_deadline = errors_blocking::Client::builder()
        .policy(errors_blocking::RetryPolicy::default().with_deadline(None))
        .build()
        .unwrap();
    let theirs = reqwest::blocking::Client::new();
    // Warm both pools.
    ours.send(ours.request(errors_blocking::Method::GET, &url))
        .unwrap();
    theirs.get(&url).send().unwrap().bytes().unwrap();

    let mut group = c.benchmark_group("blocking_shared_client");
    for n in [1usize, 2, 4, 8] {
        group.throughput(Throughput::Elements((n * PER_THREAD) as u64));
        group.bench_with_input(BenchmarkId::new("errors_blocking", n), &n, |b, &n| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..n {
                        s.spawn(|| {
                            for _ in 0..PER_THREAD {
                                let response = ours
                                    .send(ours.request(errors_blocking::Method::GET, &url))
                                    .unwrap();
                                assert_eq!(response.body.len(), 11);
                            }
                        });
                    }
                })
            })
        });
        group.bench_with_input(
            BenchmarkId::new("errors_blocking_no_deadline", n),
            &n,
            |b, &n| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        for _ in 0..n {
                            s.spawn(|| {
                                for _ in 0..PER_THREAD {
                                    let response = no_deadline
                                        .send(
                                            no_deadline.request(errors_blocking::Method::GET, &url),
                                        )
                                        .unwrap();
                                    assert_eq!(response.body.len(), 11);
                                }
                            });
                        }
                    })
                })
            },
        );
        group.bench_with_input(BenchmarkId::new("reqwest_blocking", n), &n, |b, &n| {
            b.iter(|| {
                std::thread::scope(|s| {
                    for _ in 0..n {
                        s.spawn(|| {
                            for _ in 0..PER_THREAD {
                                let body = theirs.get(&url).send().unwrap().bytes().unwrap();
                                assert_eq!(body.len(), 11);
                            }
                        });
                    }
                })
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    targets = threads
}
criterion_main!(benches);
