//! [`FaultServer`]: a server on 127.0.0.1 that fails like a network (refused connections,
//! resets, stalls, drips), one scripted [`Fault`] per connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::fault::Faults;
use crate::{Fault, Journal, Received};

/// The most of a request head the server reads; a longer head is not a request it answers.
const HEAD_LIMIT: usize = 64 * 1024;

/// The most of a request body the server reads and records.
const BODY_LIMIT: usize = 1024 * 1024;

/// How long the server waits for a whole request before closing the connection unanswered.
const REQUEST_WAIT: Duration = Duration::from_secs(10);

/// How long Drop waits for the runtime thread of [`FaultServer::start_blocking`].
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// The most request headers parsed.
const MAX_HEADERS: usize = 128;

/// A server on a fresh 127.0.0.1 port that fails the way networks and servers fail, so your
/// tests can check what your client does with a transport error: a refused connection
/// ([`refusing`](FaultServer::refusing)), or, one [`Fault`] per accepted connection in order,
/// a connection closed or reset before any answer, a reset mid-body, headers and then
/// silence, a body that drips, or a plain answer. After the last fault, the last repeats.
///
/// For each connection it reads the request (the head up to 64 KiB, the body up to 1 MiB,
/// for at most 10 s), records it in its [`Journal`], then plays the connection's fault
/// ([`Fault::raw_on_connect`] reads nothing: it speaks first). It
/// counts [`connections`](FaultServer::connections) too: a connection whose request never
/// arrived is counted there and not journaled. It stops when dropped: the port closes and
/// every connection still open is dropped.
///
/// [`start`](FaultServer::start) runs it on your test's tokio runtime (the journal reads that
/// runtime's clock); [`start_blocking`](FaultServer::start_blocking) runs it on a thread and
/// runtime of its own, for plain `#[test]`s, on the wall clock. Use it on the wall clock
/// either way: real sockets and tokio's paused clock do not mix (see the crate docs).
///
/// A GET that breaks off mid-body is sent again; a POST that breaks off the same way may
/// have been acted on, and is not:
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::time::Duration;
///
/// use errors_core::RetryPolicy;
/// use errors_core::retry::StopReason;
/// use errors_http::ApiClient;
/// use errors_testkit::{Fault, FaultServer};
/// use reqwest::Method;
///
/// // Arrange: the first connection resets 3 bytes into the body, the next ones answer.
/// let body = r#"{"id":7}"#;
/// let faults = || Fault::reset_mid_body(200, body, 3).then(Fault::answer(200, body));
/// let client = |server: &FaultServer| {
///     ApiClient::builder()
///         .base_url(server.uri())
///         .policy(RetryPolicy::default().with_initial_backoff(Duration::from_millis(10)))
///         .build()
///         .unwrap()
/// };
///
/// // Act: a GET.
/// let server = FaultServer::start(faults()).await;
/// let api = client(&server);
/// let response = api.send(api.request(Method::GET, "v1/jobs/7")).await.unwrap();
///
/// // Assert: sent again after the reset, and the second answer came through.
/// assert_eq!(response.json::<serde_json::Value>().unwrap()["id"], 7);
/// assert_eq!(response.attempts.len(), 2);
/// server.journal().assert_received("GET", "/v1/jobs/7", 2);
///
/// // Act: a POST, against a fresh server with the same faults.
/// let server = FaultServer::start(faults()).await;
/// let api = client(&server);
/// let err = api
///     .send(api.request(Method::POST, "v1/jobs").body("{}"))
///     .await
///     .unwrap_err();
///
/// // Assert: sent once, and the error says why it was not repeated.
/// assert_eq!(err.stop_reason(), Some(StopReason::UnsafeToRepeat));
/// server.journal().assert_received_once("POST", "/v1/jobs");
/// assert_eq!(server.connections(), 1);
/// # }
/// ```
#[derive(Debug)]
pub struct FaultServer {
    uri: String,
    journal: Journal,
    connections: Arc<AtomicUsize>,
    driver: Driver,
}

/// What keeps the server going, and what Drop stops.
#[derive(Debug)]
enum Driver {
    /// A socket bound to the port and never listening: every connection to it is refused,
    /// and no other socket can take the port while the server lives.
    Refusing { _socket: TcpSocket },
    /// The accept loop on the caller's runtime; its connections are tasks it owns.
    Task(tokio::task::JoinHandle<()>),
    /// A thread running a runtime with a [`Driver::Task`] server on it.
    Thread(OwnThread),
}

#[derive(Debug)]
struct OwnThread {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    /// Closed by the thread when it has finished, so Drop can wait with a bound.
    finished: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl FaultServer {
    /// Starts a server on `127.0.0.1:0` on the current tokio runtime, playing `faults` (a
    /// [`Fault`], or [`Faults`]) one per accepted connection.
    ///
    /// # Panics
    ///
    /// If `faults` is empty, or no port can be bound on 127.0.0.1 (a test fixture fails
    /// loudly).
    pub async fn start(faults: impl Into<Faults>) -> FaultServer {
        let faults = faults.into();
        assert!(!faults.is_empty(), "a FaultServer needs at least one fault");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the fault server to 127.0.0.1");
        let uri = format!(
            "http://{}",
            listener.local_addr().expect("the listener's address")
        );
        let journal = Journal::default();
        let connections = Arc::new(AtomicUsize::new(0));
        let task = tokio::spawn(accept(
            listener,
            faults,
            journal.clone(),
            Arc::clone(&connections),
        ));
        FaultServer {
            uri,
            journal,
            connections,
            driver: Driver::Task(task),
        }
    }

    /// Starts a server like [`start`](FaultServer::start), on a thread and runtime of its
    /// own: for synchronous tests, and usable from any thread. Dropping it stops the thread
    /// and waits for it (a few seconds at most).
    ///
    /// # Panics
    ///
    /// As [`start`](FaultServer::start), or if the thread or its runtime cannot start.
    pub fn start_blocking(faults: impl Into<Faults>) -> FaultServer {
        let faults = faults.into();
        assert!(!faults.is_empty(), "a FaultServer needs at least one fault");
        let (started_tx, started_rx) = mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let (finished_tx, finished_rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("errors-testkit-fault-server".into())
            .spawn(move || {
                let _finished = finished_tx; // dropped last, whatever happens
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("start the fault server's runtime");
                runtime.block_on(async move {
                    let server = FaultServer::start(faults).await;
                    let parts = (
                        server.uri.clone(),
                        server.journal.clone(),
                        Arc::clone(&server.connections),
                    );
                    if started_tx.send(parts).is_err() {
                        return;
                    }
                    // Serve until told to stop, or until the owner is gone.
                    let _ = shutdown_rx.await;
                    drop(server);
                });
            })
            .expect("spawn the fault server's thread");
        let Ok((uri, journal, connections)) = started_rx.recv() else {
            match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => panic!("the fault server's thread stopped before the server started"),
            }
        };
        FaultServer {
            uri,
            journal,
            connections,
            driver: Driver::Thread(OwnThread {
                shutdown: Some(shutdown_tx),
                finished: finished_rx,
                thread: Some(thread),
            }),
        }
    }

    /// A server whose every connection is refused: a port on 127.0.0.1 held by a socket
    /// that is bound and never listens, so a client's connect fails at once with "connection
    /// refused", and no other test can take the port meanwhile. Needs no runtime. Nothing
    /// reaches it: its journal stays empty and it counts no connections.
    ///
    /// # Panics
    ///
    /// If no port can be bound on 127.0.0.1.
    pub fn refusing() -> FaultServer {
        let socket = TcpSocket::new_v4().expect("a socket for the refusing server");
        socket
            .bind(([127, 0, 0, 1], 0).into())
            .expect("bind the refusing server to 127.0.0.1");
        let uri = format!(
            "http://{}",
            socket.local_addr().expect("the refusing server's address")
        );
        FaultServer {
            uri,
            journal: Journal::default(),
            connections: Arc::default(),
            driver: Driver::Refusing { _socket: socket },
        }
    }

    /// The base URL, `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn uri(&self) -> String {
        self.uri.clone()
    }

    /// The requests that arrived, one per connection that sent a whole request head.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// A copy of the requests that arrived so far (as [`Journal::requests`]).
    pub fn requests(&self) -> Vec<Received> {
        self.journal.requests()
    }

    /// How many connections the server accepted so far, whether or not a request came on
    /// them: the number of faults played or being played.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FaultServer {
    fn drop(&mut self) {
        match &mut self.driver {
            Driver::Refusing { .. } => {}
            // Aborting the accept loop drops the listener and the set of connection tasks,
            // which aborts them too.
            Driver::Task(task) => task.abort(),
            Driver::Thread(own) => {
                if let Some(shutdown) = own.shutdown.take() {
                    let _ = shutdown.send(());
                }
                // Bounded: a stuck thread must not hang the test that dropped the server.
                if own.finished.recv_timeout(SHUTDOWN_WAIT) == Err(mpsc::RecvTimeoutError::Timeout)
                {
                    return;
                }
                if let Some(thread) = own.thread.take()
                    && let Err(panic) = thread.join()
                    && !std::thread::panicking()
                {
                    std::panic::resume_unwind(panic);
                }
            }
        }
    }
}

/// Accepts connections until the listener fails or the task is aborted; connection `n`
/// plays the `n`th fault.
async fn accept(
    listener: TcpListener,
    faults: Faults,
    journal: Journal,
    connections: Arc<AtomicUsize>,
) {
    let mut open = JoinSet::new();
    while let Ok((socket, _)) = listener.accept().await {
        let n = connections.fetch_add(1, Ordering::SeqCst);
        if let Some(fault) = faults.for_connection(n) {
            open.spawn(serve(socket, fault.clone(), journal.clone()));
        }
        // Finished connections leave the set, so it holds only the open ones.
        while open.try_join_next().is_some() {}
    }
    // The listener failed: stop accepting, let the open connections end on their own.
    while open.join_next().await.is_some() {}
}

/// One connection: read the request, record it, play the fault.
async fn serve(mut socket: TcpStream, fault: Fault, journal: Journal) {
    if !fault.reads_request() {
        // It speaks first: there is no request to wait for, nor to record.
        fault.play(socket).await;
        return;
    }
    let request = tokio::time::timeout(REQUEST_WAIT, read_request(&mut socket)).await;
    let Ok(Some(request)) = request else {
        return;
    };
    journal.push(request);
    fault.play(socket).await;
}

/// Reads one request: its head up to [`HEAD_LIMIT`], its body (by `content-length` or
/// chunked) up to [`BODY_LIMIT`]. `None` if the client closed first or sent no HTTP request.
async fn read_request(socket: &mut TcpStream) -> Option<Received> {
    let mut buffer = Vec::with_capacity(4096);
    let mut scratch = [0u8; 4096];
    let head_len = loop {
        if let Some(end) = find(&buffer, b"\r\n\r\n") {
            break end + 4;
        }
        if buffer.len() >= HEAD_LIMIT {
            return None;
        }
        match socket.read(&mut scratch).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buffer.extend_from_slice(&scratch[..n]),
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut parsed = httparse::Request::new(&mut headers);
    if !matches!(
        parsed.parse(&buffer[..head_len]),
        Ok(httparse::Status::Complete(_))
    ) {
        return None;
    }
    let method = parsed.method?.to_owned();
    let target = parsed.path?;
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target.to_owned(), None),
    };
    let headers: Vec<(String, String)> = parsed
        .headers
        .iter()
        .map(|h| {
            let value = String::from_utf8_lossy(h.value).into_owned();
            (h.name.to_ascii_lowercase(), value)
        })
        .collect();
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
    };
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let length = header("content-length").and_then(|v| v.parse::<usize>().ok());

    let mut raw = buffer.split_off(head_len);
    let body = if chunked {
        loop {
            match dechunk(&raw) {
                Chunked::Whole(body) => break body,
                Chunked::Invalid => break raw,
                Chunked::Partial if raw.len() >= BODY_LIMIT => break raw,
                Chunked::Partial => match socket.read(&mut scratch).await {
                    Ok(0) | Err(_) => break raw,
                    Ok(n) => raw.extend_from_slice(&scratch[..n]),
                },
            }
        }
    } else {
        let wanted = length.unwrap_or(0).min(BODY_LIMIT);
        while raw.len() < wanted {
            match socket.read(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => raw.extend_from_slice(&scratch[..n]),
            }
        }
        raw.truncate(wanted);
        raw
    };
    Some(Received {
        method,
        path,
        query,
        headers,
        body,
        at: Instant::now(),
    })
}

/// Where `needle` first occurs in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// How much of a chunked body has arrived.
enum Chunked {
    Whole(Vec<u8>),
    Partial,
    Invalid,
}

/// Decodes a chunked body from `raw` if all of it (through the last chunk and the trailers)
/// is there.
fn dechunk(raw: &[u8]) -> Chunked {
    let mut body = Vec::new();
    let mut rest = raw;
    loop {
        let Some(line_end) = find(rest, b"\r\n") else {
            return Chunked::Partial;
        };
        let size = std::str::from_utf8(&rest[..line_end])
            .ok()
            .and_then(|line| line.split(';').next())
            .and_then(|hex| usize::from_str_radix(hex.trim(), 16).ok());
        let Some(size) = size else {
            return Chunked::Invalid;
        };
        rest = &rest[line_end + 2..];
        if size == 0 {
            // Trailers, if any, end with an empty line.
            let done = rest.starts_with(b"\r\n") || find(rest, b"\r\n\r\n").is_some();
            return if done {
                Chunked::Whole(body)
            } else {
                Chunked::Partial
            };
        }
        let Some(chunk_end) = size.checked_add(2).filter(|end| *end <= rest.len()) else {
            return Chunked::Partial;
        };
        body.extend_from_slice(&rest[..size]);
        rest = &rest[chunk_end..];
    }
}

#[cfg(test)]
mod tests {
    use super::{Chunked, dechunk};

    #[test]
    fn chunked_bodies_are_whole_only_through_the_last_chunk() {
        assert!(matches!(dechunk(b"3\r\nabc\r\n0\r\n\r\n"), Chunked::Whole(b) if b == b"abc"));
        assert!(
            matches!(dechunk(b"3;x=y\r\nabc\r\n1\r\nd\r\n0\r\nt: v\r\n\r\n"), Chunked::Whole(b) if b == b"abcd")
        );
        assert!(matches!(dechunk(b"3\r\nabc\r\n0\r\n"), Chunked::Partial));
        assert!(matches!(dechunk(b"3\r\nab"), Chunked::Partial));
        assert!(matches!(dechunk(b"zz\r\n"), Chunked::Invalid));
        assert!(matches!(dechunk(b"ffffffffffffffff\r\n"), Chunked::Partial));
    }
}
