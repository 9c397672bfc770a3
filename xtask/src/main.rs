//! moorline's task runner. `cargo xtask test` is the project's one test command: it
//! installs what is missing, then runs every stage and prints a summary.

mod bench;
mod demo;
mod examples;
mod gateway;
mod setup;
mod test;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

/// Crates with browser tests (run under wasm-bindgen-test-runner in headless Chromium).
const BROWSER_CRATES: &[&str] = &["moorline-core", "moorline-leptos", "moorline-yew"];
/// Crates linted for wasm32.
const WASM_CRATES: &[&str] = &[
    "moorline-core",
    "moorline-leptos",
    "moorline-yew",
    "moorline-browser-kit",
    "leptos-dashboard",
    "yew-dashboard",
];
/// The published libraries: their docs must build without warnings.
const LIBRARIES: &[&str] = &[
    "moorline-core",
    "moorline-gateway",
    "moorline-leptos",
    "moorline-yew",
];
/// Crates with an `ssr` feature that must build (warning-free) for the server.
const SSR_CRATES: &[&str] = &["moorline-leptos", "moorline-yew"];
/// The API key of the gateway under test (admin endpoints need one).
const TEST_API_KEY: &str = "moorline-test-key";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test::test(),
        Some("demo") => demo::demo(&args[1..]).map(|_| true),
        Some("bench") => bench::bench().map(|_| true),
        Some("setup") => setup::setup().map(|_| true),
        Some("examples") => examples::run_examples().map(|(_, failed)| failed == 0),
        _ => {
            eprintln!("usage: cargo xtask <test|demo|bench|examples|setup>");
            eprintln!("  test   install what is missing, then fmt, clippy (native + wasm32), native tests, browser tests, example apps");
            eprintln!("  demo   build both example apps and serve them with the gateway on 127.0.0.1:8080 (--port N to change)");
            eprintln!(
                "  bench  release gateway: idle memory per connection, fan-out rate, latency"
            );
            eprintln!("  examples  only the example-app checks (headless Chromium over WebDriver)");
            eprintln!("  setup  only install what is missing (wasm32 target, wasm-bindgen-cli, chromium, chromedriver)");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(err) => {
            eprintln!("xtask: {err:#}");
            ExitCode::FAILURE
        }
    }
}

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

pub(crate) fn run(cmd: &mut Command) -> Result<bool> {
    eprintln!("xtask: $ {cmd:?}");
    Ok(cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?
        .success())
}

pub(crate) fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
