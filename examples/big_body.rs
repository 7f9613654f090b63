//! Peak memory for one large success body, with and without `response_body_limit`: serves
//! `SIZE_MIB` MiB of JSON-ish bytes from a loopback server and fetches it once through the
//! async client. Measure with `/usr/bin/time -v` (see BENCHMARKS.md).
//!
//! ```text
//! cargo build --release --example big_body
//! /usr/bin/time -v target/release/examples/big_body 200            # no cap
//! /usr/bin/time -v target/release/examples/big_body 200 1048576    # 1 MiB cap
//! /usr/bin/time -v target/release/examples/big_body 200 1048576 eof # no Content-Length
//! ```

use std::io::{Read as _, Write as _};
use std::net::TcpListener;

use errors_http::{ApiClient, ErrorKind};
use reqwest::Method;

fn main() {
    let mut args = std::env::args().skip(1);
    let size_mib: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let cap: Option<usize> = args.next().and_then(|s| s.parse().ok());
    // `eof`: no Content-Length, the body ends when the connection closes, so a cap can only
    // be enforced while reading.
    let until_eof = args.next().as_deref() == Some("eof");
    let len = size_mib << 20;

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}/", listener.local_addr().expect("local address"));
    // One connection, one response; the server goes away with the process.
    std::thread::spawn(move || {
        let Ok((mut socket, _)) = listener.accept() else {
            return;
        };
        let mut head = [0u8; 4096];
        let _ = socket.read(&mut head);
        let header = if until_eof {
            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\nconnection: close\r\n\r\n"
                .to_owned()
        } else {
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {len}\r\n\r\n"
            )
        };
        let _ = socket.write_all(header.as_bytes());
        let chunk = vec![b'x'; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            if socket.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n;
        }
    });

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut builder = ApiClient::builder().base_url(&url);
        if let Some(cap) = cap {
            builder = builder.response_body_limit(cap);
        }
        let client = builder.build().expect("a client");
        match client.send(client.request(Method::GET, "body")).await {
            Ok(response) => println!("read {} bytes", response.body.len()),
            Err(err) if matches!(err.kind(), ErrorKind::ResponseTooLarge { .. }) => {
                println!("stopped: {err}")
            }
            Err(err) => {
                eprintln!("failed: {err}");
                std::process::exit(2);
            }
        }
    });
}
