//! The loopback server both thread benches send to: a minimal keep-alive HTTP/1.1 server on
//! 127.0.0.1, a thread per connection, answering every GET with the same small JSON body.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};

/// The body of every answer: each client must read exactly this many bytes.
pub(crate) const BODY_LEN: usize = 11;

const RESPONSE: &[u8] =
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";

/// A keep-alive server answering every request with `RESPONSE`, one thread per connection
/// (the clients keep a handful of pooled connections). Runs until the process exits.
pub(crate) fn server() -> String {
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
