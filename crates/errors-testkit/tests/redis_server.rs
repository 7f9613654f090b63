//! `RedisServer` against a real `redis-server`, seen from a raw socket: it answers, refuses
//! connections once stopped, answers again on the same port after a restart, hangs when
//! paused and answers again when resumed.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use errors_testkit::RedisServer;

/// How long a paused server is given to (not) answer: a running one answers in well under a
/// millisecond.
const PAUSED_WAIT: Duration = Duration::from_millis(200);

/// Bounds every wait for an answer that should come: far past what a running server takes.
const BOUND: Duration = Duration::from_secs(5);

/// Sends `PING` on a new connection and reads the reply line, waiting at most `timeout` for
/// it.
fn ping(port: u16, timeout: Duration) -> std::io::Result<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    stream.set_read_timeout(Some(timeout))?;
    stream.write_all(b"PING\r\n")?;
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply)?;
    Ok(String::from_utf8_lossy(&reply).into_owned())
}

/// Pings until the server answers `+PONG`, for at most [`BOUND`]; fails naming the last
/// error otherwise.
#[track_caller]
fn assert_answers(redis: &RedisServer) {
    let deadline = Instant::now() + BOUND;
    loop {
        let reply = ping(redis.port(), BOUND);
        if matches!(&reply, Ok(pong) if pong == "+PONG\r\n") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "redis on port {} did not answer PING within {BOUND:?}: {reply:?}",
            redis.port()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn start_answers_ping_on_its_url() {
    let redis = RedisServer::start();

    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    // start waits until it answers: the very first PING gets PONG.
    assert_eq!(ping(redis.port(), BOUND).unwrap(), "+PONG\r\n");
}

#[test]
fn two_servers_get_two_ports() {
    let (a, b) = (RedisServer::start(), RedisServer::start());

    assert_ne!(a.port(), b.port());
    assert_answers(&a);
    assert_answers(&b);
}

#[test]
fn stop_refuses_connections() {
    let mut redis = RedisServer::start();

    redis.stop();

    // stop waits for the process to exit, so the port is closed at once.
    let err = ping(redis.port(), BOUND).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
    // A second stop does nothing.
    redis.stop();
}

#[test]
fn restart_answers_again_on_the_same_port_with_its_data_gone() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.write_all(b"SET key value\r\n").unwrap();
    let mut ok = [0u8; 5];
    stream.read_exact(&mut ok).unwrap();
    assert_eq!(&ok, b"+OK\r\n");

    redis.restart();

    assert_eq!(redis.port(), port);
    assert_eq!(ping(port, BOUND).unwrap(), "+PONG\r\n");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.write_all(b"GET key\r\n").unwrap();
    let mut nil = [0u8; 5];
    stream.read_exact(&mut nil).unwrap();
    assert_eq!(&nil, b"$-1\r\n", "the key survived the restart");
}

#[test]
fn restart_after_stop_answers_again() {
    let mut redis = RedisServer::start();
    redis.stop();

    redis.restart();

    assert_eq!(ping(redis.port(), BOUND).unwrap(), "+PONG\r\n");
}

#[test]
fn pause_hangs_and_resume_answers_again() {
    let redis = RedisServer::start();

    redis.pause();

    // The kernel still accepts the connection; nobody reads it.
    let err = ping(redis.port(), PAUSED_WAIT).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "expected a read timeout from a paused server, got {err}"
    );

    redis.resume();

    assert_answers(&redis);
}

#[test]
fn a_paused_server_can_be_stopped_and_dropped() {
    let mut redis = RedisServer::start();
    let port = redis.port();
    redis.pause();

    redis.stop();

    let err = ping(port, BOUND).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");

    // Dropped while paused: Drop resumes it so that it dies, and the port closes.
    let redis = RedisServer::start();
    let port = redis.port();
    redis.pause();
    drop(redis);
    let err = ping(port, BOUND).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConnectionRefused, "{err}");
}

#[test]
#[should_panic(expected = "cannot pause a stopped RedisServer")]
fn pause_after_stop_panics() {
    let mut redis = RedisServer::start();
    redis.stop();

    redis.pause();
}

#[test]
#[should_panic(expected = "did not restart on port")]
fn restart_fails_loudly_when_the_port_was_taken_meanwhile() {
    let mut redis = RedisServer::start();
    redis.stop();
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", redis.port())).unwrap();

    redis.restart();
}
