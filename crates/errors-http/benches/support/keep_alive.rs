//! One keep-alive HTTP/1.1 connection answered request by request, as little server as a
//! loopback benchmark needs (so that its cost is small next to the client's): the middleware
//! bench and the rate-limit benchmark (`examples/ratelimit.rs`) serve with it.

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Answers each request on `socket`, in order, with what `answer` makes of its head (up to
/// the blank line; requests here have no body), until the client closes, a write fails or a
/// head outgrows the buffer.
pub(crate) async fn answer_each<R: AsRef<[u8]>>(
    mut socket: TcpStream,
    mut answer: impl FnMut(&[u8]) -> R,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut filled = 0;
    loop {
        let Ok(n) = socket.read(&mut buf[filled..]).await else {
            return;
        };
        if n == 0 {
            return;
        }
        filled += n;
        while let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
            let response = answer(&buf[..end]);
            if socket.write_all(response.as_ref()).await.is_err() {
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
