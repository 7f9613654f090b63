//! [`RedisServer`]: a real `redis-server` on 127.0.0.1 that a test owns, and can stop,
//! restart, pause and resume.

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a server has to answer after it is spawned: far past the few milliseconds it
/// takes, so that only a broken server, not a loaded machine, fails the wait.
const READY_WAIT: Duration = Duration::from_secs(10);

/// How often the readiness check is repeated. Polling is the only way to see that another
/// process is ready; 10 ms keeps the wait short without busy-looping.
const POLL_EVERY: Duration = Duration::from_millis(10);

/// The bound on each connect, read and write of the readiness check, so that one attempt
/// cannot outlive [`READY_WAIT`] by much.
const ATTEMPT_TIMEOUT: Duration = Duration::from_millis(500);

/// How many fresh ports [`RedisServer::start`] tries: the port is free when picked, but
/// another process may take it before redis binds it.
const START_ATTEMPTS: usize = 3;

/// The longest reply line the readiness check reads (`+PONG`, a bulk length).
const MAX_LINE: usize = 64;

/// Numbers the servers' directories within this process (the pid tells processes apart).
static NEXT_DIR: AtomicUsize = AtomicUsize::new(0);

/// A real `redis-server` on a fresh 127.0.0.1 port, started for one test, which the test can
/// [`stop`](RedisServer::stop), [`restart`](RedisServer::restart),
/// [`pause`](RedisServer::pause) and [`resume`](RedisServer::resume): to see what your code
/// does when its Redis refuses connections, comes back empty, or hangs.
///
/// It runs without persistence (`--save '' --appendonly no`) in a directory of its own under
/// the system's temporary directory, removed on drop. Dropping it kills the process.
///
/// It needs `redis-server` on `PATH` (Debian: `apt-get install redis-server`). Without it,
/// [`start`](RedisServer::start) panics: a test that needs Redis fails, it never skips.
///
/// ```
/// use std::io::{Read as _, Write as _};
/// use std::net::TcpStream;
///
/// use errors_testkit::RedisServer;
///
/// /// One PING by hand; your code would connect to `redis.url()` instead.
/// fn ping(port: u16) -> std::io::Result<String> {
///     let mut stream = TcpStream::connect(("127.0.0.1", port))?;
///     stream.write_all(b"PING\r\n")?;
///     let mut reply = [0u8; 7];
///     stream.read_exact(&mut reply)?;
///     Ok(String::from_utf8_lossy(&reply).into_owned())
/// }
///
/// // Arrange: a server of our own, answering.
/// let mut redis = RedisServer::start();
/// assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
/// assert_eq!(ping(redis.port())?, "+PONG\r\n");
///
/// // Act: an outage.
/// redis.stop();
///
/// // Assert: connections are refused until it is back, on the same port.
/// assert!(ping(redis.port()).is_err());
/// redis.restart();
/// assert_eq!(ping(redis.port())?, "+PONG\r\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    /// The server's working directory and log file; removed on drop.
    dir: PathBuf,
    /// `None` once stopped.
    child: Option<Child>,
    /// Whether the process is stopped by SIGSTOP. Atomic so that `pause(&self)` can set it
    /// and the server stays `Sync`.
    paused: AtomicBool,
}

impl RedisServer {
    /// Spawns `redis-server` on a free 127.0.0.1 port and waits (10 s at most) until it
    /// answers `PING`.
    ///
    /// # Panics
    ///
    /// If `redis-server` is not on `PATH`, or it does not answer in time (the message
    /// includes its log).
    #[track_caller]
    pub fn start() -> RedisServer {
        let dir = std::env::temp_dir().join(format!(
            "errors-testkit-redis-{}-{}",
            std::process::id(),
            NEXT_DIR.fetch_add(1, Ordering::Relaxed)
        ));
        // A directory left by an earlier process with the same pid holds nothing we need.
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("create redis-server's directory {}: {e}", dir.display()));
        let mut server = RedisServer {
            port: 0,
            dir,
            child: None,
            paused: AtomicBool::new(false),
        };
        let mut failure = String::new();
        for _ in 0..START_ATTEMPTS {
            server.port = free_port();
            match server.spawn_and_wait() {
                Ok(()) => return server,
                Err(why) => failure = why,
            }
        }
        panic!("redis-server did not start after {START_ATTEMPTS} attempts: {failure}");
    }

    /// `redis://127.0.0.1:{port}`, for your Redis client.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on; it keeps it across [`restart`](RedisServer::restart).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (SIGKILL, as a crash would) and waits for it to exit: connections to
    /// its port are refused from then on. Does nothing if it is already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            self.resume_quietly(&child);
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server if it runs, starts it again on the same port, and waits (10 s at
    /// most) until it answers. Its data is gone, as after a real restart without persistence.
    ///
    /// # Panics
    ///
    /// If it does not answer in time, for instance because another process took the port
    /// while it was stopped (the message includes its log).
    #[track_caller]
    pub fn restart(&mut self) {
        self.stop();
        if let Err(why) = self.spawn_and_wait() {
            panic!("redis-server did not restart on port {}: {why}", self.port);
        }
    }

    /// Freezes the process (SIGSTOP): connections are still accepted by the kernel, but
    /// nothing is answered, as with a server that hangs. Undo with
    /// [`resume`](RedisServer::resume).
    ///
    /// # Panics
    ///
    /// If the server is stopped, or `kill -STOP` fails.
    #[track_caller]
    pub fn pause(&self) {
        signal(self.running("pause"), "-STOP");
        self.paused.store(true, Ordering::SeqCst);
    }

    /// Lets a paused process run again (SIGCONT); it then answers what arrived meanwhile.
    ///
    /// # Panics
    ///
    /// If the server is stopped, or `kill -CONT` fails.
    #[track_caller]
    pub fn resume(&self) {
        signal(self.running("resume"), "-CONT");
        self.paused.store(false, Ordering::SeqCst);
    }

    #[track_caller]
    fn running(&self, what: &str) -> &Child {
        self.child
            .as_ref()
            .unwrap_or_else(|| panic!("cannot {what} a stopped RedisServer: restart it first"))
    }

    /// Resumes a paused process without panicking, so that it can be killed and reaped.
    fn resume_quietly(&self, child: &Child) {
        if self.paused.swap(false, Ordering::SeqCst) {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
        }
    }

    /// Spawns redis-server on `self.port` and waits until it answers; on failure, kills it
    /// and returns why, with its log.
    #[track_caller]
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        let log = self.dir.join("redis.log");
        let _ = std::fs::remove_file(&log);
        let spawned = Command::new("redis-server")
            .arg("--port")
            .arg(self.port.to_string())
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--protected-mode", "no"])
            .arg("--dir")
            .arg(&self.dir)
            // A file, not a pipe: nobody reads a pipe, and a full one would block the server.
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
                "redis-server is not on PATH; tests that need Redis fail rather than skip: \
                 install it (Debian: `apt-get install redis-server`)"
            ),
            Err(e) => panic!("spawn redis-server: {e}"),
        };
        let deadline = Instant::now() + READY_WAIT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!(
                    "it exited ({status}) before answering; its log:\n{}",
                    read_log(&log)
                ));
            }
            if answers(self.port, child.id()) {
                self.child = Some(child);
                return Ok(());
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "no answer to PING on port {} within {READY_WAIT:?}; its log:\n{}",
                    self.port,
                    read_log(&log)
                ));
            }
            std::thread::sleep(POLL_EVERY);
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Resumed first (in stop) so that a paused server can die and be reaped.
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A port free on 127.0.0.1 right now: the kernel picks it for a listener we then drop.
#[track_caller]
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("bind a listener on 127.0.0.1:0 to pick a port")
        .port()
}

/// Sends `signal` (`-STOP`, `-CONT`) to `child` with kill(1): libc is not a dependency, and
/// std has no way to send anything but SIGKILL.
#[track_caller]
fn signal(child: &Child, signal: &str) {
    let pid = child.id().to_string();
    let status = Command::new("kill")
        .args([signal, &pid])
        .status()
        .unwrap_or_else(|e| panic!("run `kill {signal} {pid}`: {e}"));
    assert!(status.success(), "`kill {signal} {pid}` failed: {status}");
}

/// Whether the redis-server with process id `pid` answers on `port`: `PING` gets `+PONG`,
/// and `INFO server` names that process. The second check matters after a restart: if
/// another Redis took the port meanwhile, ours fails to bind and the PONG is someone else's.
fn answers(port: u16, pid: u32) -> bool {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let attempt = || -> std::io::Result<bool> {
        let mut stream = TcpStream::connect_timeout(&address, ATTEMPT_TIMEOUT)?;
        stream.set_read_timeout(Some(ATTEMPT_TIMEOUT))?;
        stream.set_write_timeout(Some(ATTEMPT_TIMEOUT))?;
        stream.write_all(b"PING\r\n")?;
        if read_line(&mut stream)? != "+PONG" {
            return Ok(false);
        }
        stream.write_all(b"INFO server\r\n")?;
        // A bulk string: `$<length>\r\n<length bytes>\r\n`.
        let Some(length) = read_line(&mut stream)?
            .strip_prefix('$')
            .and_then(|n| n.parse::<usize>().ok())
        else {
            return Ok(false);
        };
        let mut info = vec![0u8; length];
        stream.read_exact(&mut info)?;
        let needle = format!("process_id:{pid}\r\n");
        Ok(String::from_utf8_lossy(&info).contains(&needle))
    };
    attempt().unwrap_or(false)
}

/// One reply line, without its `\r\n`. Byte by byte: the replies read here are short, and a
/// buffered reader would swallow the bytes after the line. Bounded, in case whatever holds
/// the port is not Redis and never ends a line.
fn read_line(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if line.len() > MAX_LINE {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not a Redis reply line",
            ));
        }
        stream.read_exact(&mut byte)?;
        line.push(byte[0]);
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// The server's log for a panic message, or why there is none.
fn read_log(log: &Path) -> String {
    std::fs::read_to_string(log).unwrap_or_else(|e| format!("(no log at {}: {e})", log.display()))
}
