//! A scripted wiremock responder that records when each request arrived.

#![allow(dead_code, unreachable_pub)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate, matchers::any};

/// Serves `steps` in order (the last one repeats) and records arrivals.
#[derive(Clone)]
pub struct Script {
    steps: Arc<Vec<ResponseTemplate>>,
    log: Arc<Mutex<Vec<(Instant, String)>>>,
}

impl Script {
    pub fn new(steps: Vec<ResponseTemplate>) -> Script {
        assert!(!steps.is_empty());
        Script {
            steps: Arc::new(steps),
            log: Arc::default(),
        }
    }

    pub async fn mount(&self, server: &MockServer) {
        Mock::given(any())
            .respond_with(self.clone())
            .mount(server)
            .await;
    }

    pub fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub fn arrivals(&self) -> Vec<Instant> {
        self.log.lock().unwrap().iter().map(|(t, _)| *t).collect()
    }

    pub fn gaps(&self) -> Vec<Duration> {
        self.arrivals().windows(2).map(|w| w[1] - w[0]).collect()
    }

    pub fn methods(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(_, m)| m.clone())
            .collect()
    }
}

impl Respond for Script {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut log = self.log.lock().unwrap();
        log.push((Instant::now(), request.method.to_string()));
        let i = (log.len() - 1).min(self.steps.len() - 1);
        self.steps[i].clone()
    }
}

pub fn envelope(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_raw(
        format!(r#"{{"error":{{"code":"{code}","message":"{message}","details":{{}}}},"request_id":"req-{status}"}}"#),
        "application/json",
    )
}

pub fn ok_json() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(r#"{"ok":true}"#, "application/json")
}

/// An address on loopback where nothing listens.
pub fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}/")
}

/// A loopback server that reads each request's head and then closes the connection without
/// answering: a reset after sending. Returns its URL and a count of requests read.
pub async fn closes_after_reading() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncReadExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            // Bounded: at most 64 KiB of request head.
            while head.len() < 64 * 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (url, count)
}
