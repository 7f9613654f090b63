//! The FastAPI apps of `tests/fastapi/` under uvicorn, one worker on 127.0.0.1: the one
//! launcher of `tests/fastapi.rs` (through `tests/support/mod.rs`) and of the ratelimit
//! example (`examples/ratelimit.rs` includes this file with `#[path]`). Python comes from
//! `FASTAPI_PYTHON`, else `<repo>/.venv/bin/python` (`tests/fastapi/setup.sh` makes it).

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long uvicorn may take to say it is ready.
const STARTUP_CAP: Duration = Duration::from_secs(30);

/// How many lines of what uvicorn said before exiting an error repeats.
const SAID_LINES: usize = 30;

/// A uvicorn process serving one app; killed when dropped.
pub(crate) struct App {
    child: Child,
    url: String,
}

impl App {
    /// `http://127.0.0.1:<port>/`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for App {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The Python to run the apps with: `FASTAPI_PYTHON`, else `<repo>/.venv/bin/python` if it
/// exists.
pub(crate) fn python() -> Option<String> {
    let configured = std::env::var("FASTAPI_PYTHON").ok();
    let local = format!("{}/.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    configured.or_else(|| std::path::Path::new(&local).exists().then_some(local))
}

/// Starts `module` (`app:app`, `slowapi_app:app`: a module of `tests/fastapi/`) under
/// uvicorn with the settings `env`, and waits (bounded) for uvicorn to say it is ready.
/// uvicorn binds a free port itself (`--port 0`) before it says so, and the port is read
/// from what it says: no port is chosen here and then lost to a race. An error says what
/// uvicorn said if it exited first (a missing package, say).
pub(crate) fn start(python: &str, module: &str, env: &[(&str, &str)]) -> Result<App, String> {
    let mut child = Command::new(python)
        .args(["-m", "uvicorn", module, "--host", "127.0.0.1"])
        .args(["--port", "0", "--no-access-log"])
        .envs(env.iter().copied())
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fastapi"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start uvicorn {module} with {python}: {e}"))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let mut app = App {
        child,
        url: String::new(),
    };
    // Read on a thread, waited for with a bound.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut said = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(port) = announced_port(&line) {
                let _ = tx.send(Ok(port));
            } else if said.len() < SAID_LINES {
                said.push(line);
            }
        }
        // Exited: report what it said (ignored if it was ready).
        let _ = tx.send(Err(said.join("\n")));
    });
    match rx.recv_timeout(STARTUP_CAP) {
        Ok(Ok(port)) => {
            app.url = format!("http://127.0.0.1:{port}/");
            Ok(app)
        }
        Ok(Err(said)) => Err(format!(
            "uvicorn {module} exited before it was ready:\n{said}"
        )),
        Err(_) => Err(format!(
            "uvicorn {module} was not ready within {STARTUP_CAP:?}"
        )),
    }
}

/// The port in uvicorn's "Uvicorn running on http://127.0.0.1:<port> (...)" line.
fn announced_port(line: &str) -> Option<u16> {
    let (_, rest) = line.split_once("Uvicorn running on http://127.0.0.1:")?;
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}
