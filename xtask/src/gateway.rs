//! A gateway process for tests and the demo, killed when dropped.

use crate::{cargo, root, run};
use anyhow::{bail, Context, Result};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running `moorline-gateway` binary.
pub(crate) struct GatewayProcess {
    child: Child,
    /// Its WebSocket URL (`ws://127.0.0.1:PORT/ws`).
    pub(crate) ws_url: String,
}

impl GatewayProcess {
    /// Build and start the gateway with `args`; it reports its address on stdout.
    pub(crate) fn start(args: &[&str]) -> Result<Self> {
        if !run(cargo().args(["build", "-q", "-p", "moorline-gateway"]))? {
            bail!("building the gateway failed");
        }
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root().join("target"));
        let mut child = Command::new(target.join("debug").join("moorline-gateway"))
            .args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the gateway")?;
        let mut first = String::new();
        if let Some(stdout) = child.stdout.as_mut() {
            let mut byte = [0u8; 1];
            while stdout.read(&mut byte)? == 1 && byte[0] != b'\n' {
                first.push(byte[0] as char);
            }
        }
        let Some(ws_url) = first
            .split_whitespace()
            .find(|w| w.starts_with("ws://"))
            .map(str::to_owned)
        else {
            let _ = child.kill();
            bail!("the gateway did not print its address (got {first:?})");
        };
        eprintln!("xtask: gateway at {ws_url}");
        Ok(GatewayProcess { child, ws_url })
    }

    /// Its HTTP base URL (`http://127.0.0.1:PORT`).
    pub(crate) fn http_url(&self) -> String {
        self.ws_url
            .replace("ws://", "http://")
            .trim_end_matches("/ws")
            .to_owned()
    }

    /// Wait for the process to exit by itself (Ctrl-C reaches it directly).
    pub(crate) fn wait(mut self) -> Result<bool> {
        Ok(self.child.wait()?.success())
    }
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
