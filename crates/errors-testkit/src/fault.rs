//! [`Fault`] and [`Faults`]: what one connection to a [`FaultServer`](crate::FaultServer)
//! does once the request has arrived, and the order in which connections get them.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How long a stalled connection, or one that never answers, is held open at most when the
/// client does not leave first: far past any timeout a test sets, and still an end.
pub(crate) const HOLD_LIMIT: Duration = Duration::from_secs(60);

/// How long a finished connection waits for the client to close its side, so that the
/// client reads everything written before the socket goes (closing with unread bytes would
/// send a reset that can discard them).
const LINGER_LIMIT: Duration = Duration::from_secs(5);

/// Bytes per write of a whole body: large bodies go out in pieces, never as one buffer.
const PIECE: usize = 64 * 1024;

/// Bytes per chunk of a `Transfer-Encoding: chunked` body.
const CHUNK: usize = 16 * 1024;

/// What one connection to a [`FaultServer`](crate::FaultServer) does after the server has
/// read its request: break the way a network or a server breaks, or answer.
///
/// Every fault that sends a response head writes `HTTP/1.1 <status> <reason>`, a
/// `content-length` of the whole body (or `transfer-encoding: chunked` after
/// [`with_chunked_encoding`](Fault::with_chunked_encoding)), `connection: close`, then the
/// headers added with [`with_header`](Fault::with_header); a header you add with one of
/// those names replaces the automatic one (to declare a length the body does not have, say).
///
/// A refused connection is not one of them: a refused connection never reaches a server, so
/// no server can take turns refusing. Use [`FaultServer::refusing`](crate::FaultServer::refusing).
///
/// ```
/// use std::time::Duration;
/// use errors_testkit::Fault;
///
/// // Fail twice, then answer: connection 1 and 2 break off mid-body, 3 and later succeed.
/// let faults = Fault::reset_mid_body(200, r#"{"id":7}"#, 3)
///     .times(2)
///     .then(Fault::answer(200, r#"{"id":7}"#).with_header("content-type", "application/json"));
/// # let _ = faults;
/// // A 503 whose body takes 10 ms a byte to arrive.
/// let slow = Fault::drip(503, "upstream busy", Duration::from_millis(10));
/// # let _ = slow;
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    action: Action,
}

#[derive(Debug, Clone)]
enum Action {
    /// Closes without a byte of answer: `reset` sends an RST, otherwise a FIN.
    Close { reset: bool },
    /// Sends nothing and holds the connection.
    NoAnswer,
    /// Sends a response head and some or all of its body.
    Respond {
        response: Response,
        delivery: Delivery,
    },
    /// Sends these bytes and closes.
    Raw(Vec<u8>),
    /// Sends these bytes as soon as the connection is accepted, reads no request, and closes.
    RawOnConnect(Vec<u8>),
}

#[derive(Debug, Clone)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
    chunked: bool,
}

#[derive(Debug, Clone)]
enum Body {
    Bytes(Vec<u8>),
    /// `len` copies of `byte`, made piece by piece as they are written.
    Repeat {
        byte: u8,
        len: usize,
    },
}

#[derive(Debug, Clone, Copy)]
enum Delivery {
    /// The whole body, then a clean close.
    Whole,
    /// The first `sent` bytes of the body, then an RST.
    ResetAfter { sent: usize },
    /// The first `sent` bytes of the body, then nothing.
    StallAfter { sent: usize },
    /// `size` bytes at a time, the first after `every`, then a clean close.
    Drip { every: Duration, size: usize },
}

impl Fault {
    /// A whole answer: `status`, then `body`, then a clean close.
    pub fn answer(status: u16, body: impl Into<Vec<u8>>) -> Fault {
        Fault::respond(status, body, Delivery::Whole)
    }

    /// Reads the request, then closes the connection cleanly (a FIN) without a byte of
    /// answer. A client sees the connection end before a response; it cannot know whether
    /// the server acted on the request.
    pub fn close_before_headers() -> Fault {
        Fault {
            action: Action::Close { reset: false },
        }
    }

    /// Reads the request, then resets the connection (an RST) without a byte of answer: a
    /// client sees "connection reset by peer".
    pub fn reset_before_headers() -> Fault {
        Fault {
            action: Action::Close { reset: true },
        }
    }

    /// Reads the request and never answers: the connection stays open, silent, until the
    /// client leaves, the server is dropped, or a minute passes.
    pub fn no_answer() -> Fault {
        Fault {
            action: Action::NoAnswer,
        }
    }

    /// Sends the response head, declaring `body`, then nothing: the body never comes. The
    /// connection is held as by [`no_answer`](Fault::no_answer).
    pub fn stall_after_headers(status: u16, body: impl Into<Vec<u8>>) -> Fault {
        Fault::stall_mid_body(status, body, 0)
    }

    /// Sends the response head and the first `sent` bytes of `body`, then nothing more. The
    /// connection is held as by [`no_answer`](Fault::no_answer).
    pub fn stall_mid_body(status: u16, body: impl Into<Vec<u8>>, sent: usize) -> Fault {
        Fault::respond(status, body, Delivery::StallAfter { sent })
    }

    /// Sends the response head and the first `sent` bytes of `body`, then resets the
    /// connection (an RST: `SO_LINGER` of zero, then close). A client has the status and
    /// headers, and an error reading the body.
    pub fn reset_mid_body(status: u16, body: impl Into<Vec<u8>>, sent: usize) -> Fault {
        Fault::respond(status, body, Delivery::ResetAfter { sent })
    }

    /// Sends the response head at once, then `body` one byte at a time (see
    /// [`with_drip_size`](Fault::with_drip_size)), waiting `every` before each write, then closes
    /// cleanly. The whole body takes `every` times the number of writes, unless the client
    /// leaves first.
    pub fn drip(status: u16, body: impl Into<Vec<u8>>, every: Duration) -> Fault {
        Fault::respond(status, body, Delivery::Drip { every, size: 1 })
    }

    /// Sends `bytes` as they are, whatever they are (a malformed head, a lying
    /// `content-length`, two responses), then closes cleanly.
    pub fn raw(bytes: impl Into<Vec<u8>>) -> Fault {
        Fault {
            action: Action::Raw(bytes.into()),
        }
    }

    /// Sends `bytes` as soon as the connection is accepted, without waiting for a request
    /// (none is read or journaled; the connection is counted), then closes cleanly: a server
    /// that does not speak the client's protocol, such as plain HTTP behind an `https://`
    /// URL, whose answer to a TLS handshake is an HTTP status line.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use errors_testkit::{Fault, FaultServer};
    ///
    /// // Arrange: plain HTTP where the client expects TLS.
    /// let server = FaultServer::start(Fault::raw_on_connect("HTTP/1.1 200 OK\r\n\r\n")).await;
    /// let url = server.uri().replace("http://", "https://");
    ///
    /// // Act
    /// let result = reqwest::get(url).await;
    ///
    /// // Assert: the handshake failed on the first connection, and no request was read.
    /// assert!(result.unwrap_err().is_connect());
    /// assert_eq!(server.connections(), 1);
    /// assert!(server.journal().is_empty());
    /// # }
    /// ```
    pub fn raw_on_connect(bytes: impl Into<Vec<u8>>) -> Fault {
        Fault {
            action: Action::RawOnConnect(bytes.into()),
        }
    }

    /// Whether the server reads the request before playing this fault (all but
    /// [`raw_on_connect`](Fault::raw_on_connect), which speaks first).
    pub(crate) fn reads_request(&self) -> bool {
        !matches!(self.action, Action::RawOnConnect(_))
    }

    fn respond(status: u16, body: impl Into<Vec<u8>>, delivery: Delivery) -> Fault {
        Fault {
            action: Action::Respond {
                response: Response {
                    status,
                    headers: Vec::new(),
                    body: Body::Bytes(body.into()),
                    chunked: false,
                },
                delivery,
            },
        }
    }

    /// Adds a response header (after the automatic ones, or instead of one of the same
    /// name).
    ///
    /// # Panics
    ///
    /// On a fault that sends no response head ([`raw`](Fault::raw) included: its bytes are
    /// sent as given).
    #[track_caller]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Fault {
        self.response("with_header")
            .headers
            .push((name.into(), value.into()));
        self
    }

    /// Frames the body with `transfer-encoding: chunked` (16 KiB chunks, or one chunk per
    /// write of a drip) instead of a `content-length`.
    ///
    /// # Panics
    ///
    /// On a fault that sends no response head.
    #[track_caller]
    pub fn with_chunked_encoding(mut self) -> Fault {
        self.response("with_chunked_encoding").chunked = true;
        self
    }

    /// Replaces the body with `len` copies of `byte`, made as they are written: a body of
    /// hundreds of megabytes costs the server no memory.
    ///
    /// # Panics
    ///
    /// On a fault that sends no response head.
    #[track_caller]
    pub fn with_repeated_body(mut self, byte: u8, len: usize) -> Fault {
        self.response("with_repeated_body").body = Body::Repeat { byte, len };
        self
    }

    /// Bytes per write of a [`drip`](Fault::drip) (at least 1).
    ///
    /// # Panics
    ///
    /// On a fault other than a drip.
    #[track_caller]
    pub fn with_drip_size(mut self, size: usize) -> Fault {
        match &mut self.action {
            Action::Respond {
                delivery: Delivery::Drip { size: current, .. },
                ..
            } => *current = size.max(1),
            other => panic!("with_drip_size applies to Fault::drip, not to {other:?}"),
        }
        self
    }

    /// This fault for the next `n` connections: `Fault::reset_mid_body(..).times(2)`.
    pub fn times(self, n: usize) -> Faults {
        Faults {
            steps: vec![self; n],
        }
    }

    /// This fault for one connection, then `next`.
    pub fn then(self, next: Fault) -> Faults {
        Faults::from(self).then(next)
    }

    #[track_caller]
    fn response(&mut self, method: &str) -> &mut Response {
        match &mut self.action {
            Action::Respond { response, .. } => response,
            other => {
                panic!("{method} applies to a fault that sends a response head, not to {other:?}")
            }
        }
    }

    /// Plays the fault on `socket`, whose request has been read. Every path ends: writes
    /// fail once the client has gone, and waits are bounded.
    pub(crate) async fn play(&self, mut socket: TcpStream) {
        match &self.action {
            Action::Close { reset: true } => reset(socket),
            Action::Close { reset: false } => finish(socket).await,
            Action::NoAnswer => hold(socket).await,
            Action::Raw(bytes) | Action::RawOnConnect(bytes) => {
                if socket.write_all(bytes).await.is_ok() {
                    finish(socket).await;
                }
            }
            Action::Respond { response, delivery } => {
                if socket.write_all(&response.head()).await.is_err() {
                    return;
                }
                match *delivery {
                    Delivery::Whole => {
                        let piece = if response.chunked { CHUNK } else { PIECE };
                        if response.write_body(&mut socket, piece, None).await.is_ok() {
                            finish(socket).await;
                        }
                    }
                    Delivery::Drip { every, size } => {
                        if response
                            .write_body(&mut socket, size, Some(every))
                            .await
                            .is_ok()
                        {
                            finish(socket).await;
                        }
                    }
                    Delivery::ResetAfter { sent } => {
                        let _ = response.write_prefix(&mut socket, sent).await;
                        reset(socket);
                    }
                    Delivery::StallAfter { sent } => {
                        if response.write_prefix(&mut socket, sent).await.is_ok() {
                            hold(socket).await;
                        }
                    }
                }
            }
        }
    }
}

impl Response {
    fn head(&self) -> Vec<u8> {
        let reason = http::StatusCode::from_u16(self.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        let mut head = format!("HTTP/1.1 {} {reason}\r\n", self.status);
        let given = |name: &str| {
            self.headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name))
        };
        if self.chunked {
            if !given("transfer-encoding") {
                head.push_str("transfer-encoding: chunked\r\n");
            }
        } else if !given("content-length") {
            head.push_str(&format!("content-length: {}\r\n", self.body.len()));
        }
        if !given("connection") {
            head.push_str("connection: close\r\n");
        }
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        head.into_bytes()
    }

    /// Writes the whole body, `piece` bytes a write (each a chunk when chunked), waiting
    /// `every` before each write of a drip, then the last chunk when chunked.
    async fn write_body(
        &self,
        socket: &mut TcpStream,
        piece: usize,
        every: Option<Duration>,
    ) -> std::io::Result<()> {
        let mut buffer = Vec::with_capacity(piece.min(PIECE));
        let mut at = 0;
        while at < self.body.len() {
            let end = self.body.len().min(at.saturating_add(piece));
            if let Some(every) = every {
                tokio::time::sleep(every).await;
            }
            self.write_range(socket, at, end, &mut buffer).await?;
            at = end;
        }
        if self.chunked {
            socket.write_all(b"0\r\n\r\n").await?;
        }
        Ok(())
    }

    /// Writes the first `sent` bytes of the body (as one chunk when chunked).
    async fn write_prefix(&self, socket: &mut TcpStream, sent: usize) -> std::io::Result<()> {
        let sent = sent.min(self.body.len());
        let mut buffer = Vec::new();
        if sent > 0 {
            self.write_range(socket, 0, sent, &mut buffer).await?;
        }
        socket.flush().await
    }

    /// Writes body bytes `start..end`, framed as one chunk when chunked.
    async fn write_range(
        &self,
        socket: &mut TcpStream,
        start: usize,
        end: usize,
        buffer: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        if self.chunked {
            socket
                .write_all(format!("{:x}\r\n", end - start).as_bytes())
                .await?;
        }
        // A repeated body is made one piece at a time, in a buffer no larger than a piece.
        let mut at = start;
        while at < end {
            let until = end.min(at + PIECE);
            match &self.body {
                Body::Bytes(bytes) => socket.write_all(&bytes[at..until]).await?,
                Body::Repeat { byte, .. } => {
                    buffer.clear();
                    buffer.resize(until - at, *byte);
                    socket.write_all(buffer).await?;
                }
            }
            at = until;
        }
        if self.chunked {
            socket.write_all(b"\r\n").await?;
        }
        Ok(())
    }
}

impl Body {
    fn len(&self) -> usize {
        match self {
            Body::Bytes(bytes) => bytes.len(),
            Body::Repeat { len, .. } => *len,
        }
    }
}

/// Sends an RST: a zero linger makes the close abortive.
fn reset(socket: TcpStream) {
    let _ = socket.set_zero_linger();
    drop(socket);
}

/// A clean close: a FIN, then what the client still sends is read and dropped until it
/// closes too (for a few seconds at most), so nothing unread turns the close into a reset.
async fn finish(mut socket: TcpStream) {
    if socket.shutdown().await.is_err() {
        return;
    }
    drain_until(&mut socket, Instant::now() + LINGER_LIMIT).await;
}

/// Holds the connection open, sending nothing, until the client leaves or
/// [`HOLD_LIMIT`] passes; then closes it.
async fn hold(mut socket: TcpStream) {
    drain_until(&mut socket, Instant::now() + HOLD_LIMIT).await;
}

/// Reads and drops whatever arrives until the client closes, an error, or `deadline`.
async fn drain_until(socket: &mut TcpStream, deadline: Instant) {
    let mut scratch = [0u8; 4096];
    while let Ok(Ok(n)) = tokio::time::timeout_at(deadline, socket.read(&mut scratch)).await {
        if n == 0 {
            break;
        }
    }
}

/// The faults a [`FaultServer`](crate::FaultServer) plays, one per accepted connection, in
/// order; after the last, the last repeats.
///
/// Build it from one [`Fault`] (every connection), with [`Fault::then`] and
/// [`Fault::times`], or from an array or a `Vec` of faults.
///
/// ```
/// use errors_testkit::{Fault, Faults};
///
/// let body = r#"{"ok":true}"#;
/// let faults = Fault::close_before_headers()
///     .times(2)
///     .then(Fault::answer(200, body));
/// assert_eq!(faults.len(), 3);
/// let same = Faults::from([
///     Fault::close_before_headers(),
///     Fault::close_before_headers(),
///     Fault::answer(200, body),
/// ]);
/// assert_eq!(same.len(), 3);
/// ```
#[derive(Debug, Clone, Default)]
pub struct Faults {
    steps: Vec<Fault>,
}

impl Faults {
    /// Adds `next` for one connection after the faults so far.
    pub fn then(mut self, next: Fault) -> Faults {
        self.steps.push(next);
        self
    }

    /// Adds `next` for the next `n` connections after the faults so far.
    pub fn then_times(mut self, next: Fault, n: usize) -> Faults {
        self.steps.extend(std::iter::repeat_n(next, n));
        self
    }

    /// How many steps there are (the last repeats for every connection after them).
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether there are no steps: a server cannot start with none.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// The fault for connection `n` (0-based): its step, or the last one.
    pub(crate) fn for_connection(&self, n: usize) -> Option<&Fault> {
        self.steps.get(n).or_else(|| self.steps.last())
    }
}

impl From<Fault> for Faults {
    fn from(fault: Fault) -> Faults {
        Faults { steps: vec![fault] }
    }
}

impl From<Vec<Fault>> for Faults {
    fn from(steps: Vec<Fault>) -> Faults {
        Faults { steps }
    }
}

impl<const N: usize> From<[Fault; N]> for Faults {
    fn from(steps: [Fault; N]) -> Faults {
        Faults {
            steps: steps.into(),
        }
    }
}
