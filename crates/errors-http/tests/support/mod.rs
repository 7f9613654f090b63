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
