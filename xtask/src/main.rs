//! moorline's task runner. `cargo xtask test` is the project's one test command: it
//! installs what is missing, then runs every stage and prints a summary.

use anyhow::{bail, Context, Result};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

/// Crates with browser tests (run under wasm-bindgen-test-runner in headless Chromium).
const BROWSER_CRATES: &[&str] = &["moorline-core", "moorline-leptos", "moorline-yew"];
/// Crates linted for wasm32.
const WASM_CRATES: &[&str] = &[
    "moorline-core",
    "moorline-leptos",
    "moorline-yew",
    "moorline-browser-kit",
];
/// Crates with an `ssr` feature that must build (warning-free) for the server.
const SSR_CRATES: &[&str] = &["moorline-leptos", "moorline-yew"];
/// The API key of the gateway under test (admin endpoints need one).
const TEST_API_KEY: &str = "moorline-test-key";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => test(),
        Some("setup") => setup().map(|_| true),
        _ => {
            eprintln!("usage: cargo xtask <test|setup>");
            eprintln!("  test   install what is missing, then fmt, clippy (native + wasm32), native tests, browser tests");
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

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(cmd: &mut Command) -> Result<bool> {
    eprintln!("xtask: $ {cmd:?}");
    Ok(cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?
        .success())
}

fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The exact wasm-bindgen version of Cargo.lock (wasm-bindgen-cli must match it).
fn locked_wasm_bindgen_version() -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines.next().and_then(|l| l.split('"').nth(1)) {
                return Ok(version.to_owned());
            }
        }
    }
    bail!("wasm-bindgen is not in Cargo.lock")
}

fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let sudo = !is_root();
    let mut update = Command::new(if sudo { "sudo" } else { "apt-get" });
    if sudo {
        update.arg("apt-get");
    }
    update.args(["update", "-q"]);
    if !run(&mut update)? {
        bail!("apt-get update failed");
    }
    let mut install = Command::new(if sudo { "sudo" } else { "apt-get" });
    if sudo {
        install.arg("apt-get");
    }
    install
        .env("DEBIAN_FRONTEND", "noninteractive")
        .args(["install", "-y", "-q"])
        .args(packages);
    if !run(&mut install)? {
        bail!("apt-get install {packages:?} failed");
    }
    Ok(())
}

/// Install what the test command needs and is missing.
fn setup() -> Result<()> {
    let targets =
        output(Command::new("rustup").args(["target", "list", "--installed"])).unwrap_or_default();
    if !targets
        .lines()
        .any(|t| t.trim() == "wasm32-unknown-unknown")
    {
        eprintln!("xtask: installing the wasm32-unknown-unknown target");
        if !run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))? {
            bail!("rustup target add wasm32-unknown-unknown failed");
        }
    }
    let components = output(Command::new("rustup").args(["component", "list", "--installed"]))
        .unwrap_or_default();
    for component in ["rustfmt", "clippy"] {
        if !components.lines().any(|c| c.starts_with(component)) {
            run(Command::new("rustup").args(["component", "add", component]))?;
        }
    }
    let want = locked_wasm_bindgen_version()?;
    let have =
        output(Command::new("wasm-bindgen-test-runner").arg("--version")).unwrap_or_default();
    if !have.split_whitespace().any(|w| w == want) {
        eprintln!(
            "xtask: installing wasm-bindgen-cli {want} (found: {:?})",
            have.trim()
        );
        let mut install = cargo();
        install.args(["install", "wasm-bindgen-cli", "--version", &want, "--force"]);
        if !run(&mut install)? {
            bail!("cargo install wasm-bindgen-cli --version {want} failed");
        }
    }
    let mut missing = Vec::new();
    if !Path::new("/usr/bin/chromium").exists() {
        missing.push("chromium");
    }
    if !Path::new(CHROMEDRIVER).exists() {
        missing.push("chromium-driver");
    }
    if !missing.is_empty() {
        eprintln!("xtask: installing {missing:?} with apt-get");
        apt_install(&missing)?;
    }
    Ok(())
}

/// Test counts parsed from test-harness output.
#[derive(Default, Clone, Copy)]
struct Counts {
    passed: u64,
    failed: u64,
}

/// Run a command, echo its output, and add up its `test result:` lines.
fn run_counted(cmd: &mut Command) -> Result<(bool, Counts)> {
    eprintln!("xtask: $ {cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not start {cmd:?}"))?;
    let mut counts = Counts::default();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            println!("{line}");
            if let Some(rest) = line.trim().strip_prefix("test result: ") {
                counts.passed += number_before(rest, " passed");
                counts.failed += number_before(rest, " failed");
            }
        }
    }
    Ok((child.wait()?.success(), counts))
}

fn number_before(text: &str, label: &str) -> u64 {
    text.find(label)
        .and_then(|end| text[..end].rsplit(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// A gateway process that is killed when dropped.
struct GatewayProcess {
    child: Child,
    ws_url: String,
}

impl GatewayProcess {
    fn start() -> Result<Self> {
        if !run(cargo().args(["build", "-q", "-p", "moorline-gateway"]))? {
            bail!("building the gateway failed");
        }
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| root().join("target"));
        let mut child = Command::new(target.join("debug").join("moorline-gateway"))
            .args([
                "--addr",
                "127.0.0.1:0",
                "--cors-allow-origin",
                "*",
                "--api-key",
                TEST_API_KEY,
            ])
            // Browser tests publish thousands of frames from one page.
            .args(["--max-frames-per-sec", "1000000"])
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
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Stage {
    name: &'static str,
    ok: bool,
    counts: Option<Counts>,
    took: Duration,
}

fn test() -> Result<bool> {
    setup()?;
    let mut stages: Vec<Stage> = Vec::new();
    let mut stage = |name: &'static str, f: &mut dyn FnMut() -> Result<(bool, Option<Counts>)>| {
        let started = Instant::now();
        let (ok, counts) = f().unwrap_or_else(|err| {
            eprintln!("xtask: stage {name}: {err:#}");
            (false, None)
        });
        stages.push(Stage {
            name,
            ok,
            counts,
            took: started.elapsed(),
        });
    };

    stage("fmt", &mut || {
        Ok((run(cargo().args(["fmt", "--all", "--", "--check"]))?, None))
    });
    stage("clippy native", &mut || {
        Ok((
            run(cargo().args([
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ]))?,
            None,
        ))
    });
    stage("clippy wasm32", &mut || {
        let mut cmd = cargo();
        cmd.args([
            "clippy",
            "--target",
            "wasm32-unknown-unknown",
            "--all-targets",
        ]);
        for krate in WASM_CRATES {
            cmd.args(["-p", krate]);
        }
        cmd.args(["--", "-D", "warnings"]);
        Ok((run(&mut cmd)?, None))
    });
    stage("ssr check", &mut || {
        let mut ok = true;
        for krate in SSR_CRATES {
            ok &= run(cargo().args([
                "clippy",
                "-p",
                krate,
                "--features",
                "ssr",
                "--",
                "-D",
                "warnings",
            ]))?;
        }
        Ok((ok, None))
    });
    stage("native tests", &mut || {
        let (ok, counts) = run_counted(cargo().args(["test", "--workspace", "--color", "never"]))?;
        Ok((ok, Some(counts)))
    });
    stage("browser tests", &mut || {
        let gateway = GatewayProcess::start()?;
        let mut ok = true;
        let mut total = Counts::default();
        for krate in BROWSER_CRATES {
            let mut cmd = cargo();
            cmd.args([
                "test",
                "-p",
                krate,
                "--target",
                "wasm32-unknown-unknown",
                "--color",
                "never",
            ])
            .env("CHROMEDRIVER", CHROMEDRIVER)
            .env("MOORLINE_GATEWAY_WS", &gateway.ws_url)
            .env("MOORLINE_GATEWAY_KEY", TEST_API_KEY)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "300")
            .env(
                "WASM_BINDGEN_TEST_WEBDRIVER_JSON",
                root().join("webdriver.json"),
            );
            let (passed, counts) = run_counted(&mut cmd)?;
            ok &= passed;
            total.passed += counts.passed;
            total.failed += counts.failed;
        }
        drop(gateway);
        Ok((ok, Some(total)))
    });

    println!();
    println!("xtask test summary");
    let mut passed = 0;
    let mut failed = 0;
    let mut all_ok = true;
    for s in &stages {
        all_ok &= s.ok;
        let detail = match s.counts {
            Some(c) => {
                passed += c.passed;
                failed += c.failed;
                format!("{} passed, {} failed", c.passed, c.failed)
            }
            None => String::new(),
        };
        println!(
            "  {:<14} {:<4} {:>6.1}s  {detail}",
            s.name,
            if s.ok { "ok" } else { "FAIL" },
            s.took.as_secs_f64()
        );
    }
    if !all_ok && failed == 0 {
        // A stage failed without failing tests (fmt, clippy, a build): count it.
        failed += stages.iter().filter(|s| !s.ok).count() as u64;
    }
    println!("{passed} passed, {failed} failed");
    Ok(all_ok)
}
