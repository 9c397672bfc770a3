//! `cargo xtask test`: every stage, a summary line per stage, `N passed, N failed`.

use crate::gateway::GatewayProcess;
use crate::setup::setup;
use crate::{
    cargo, root, run, BROWSER_CRATES, CHROMEDRIVER, LIBRARIES, SSR_CRATES, TEST_API_KEY,
    WASM_CRATES,
};
use anyhow::{Context, Result};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Test counts parsed from test-harness output.
#[derive(Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) passed: u64,
    pub(crate) failed: u64,
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

struct Stage {
    name: &'static str,
    ok: bool,
    counts: Option<Counts>,
    took: Duration,
}

pub(crate) fn test() -> Result<bool> {
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
    stage("docs", &mut || {
        let mut cmd = cargo();
        cmd.args(["doc", "--no-deps", "-q"])
            .env("RUSTDOCFLAGS", "-D warnings");
        for krate in LIBRARIES {
            cmd.args(["-p", krate]);
        }
        Ok((run(&mut cmd)?, None))
    });
    stage("native tests", &mut || {
        let (ok, counts) = run_counted(cargo().args(["test", "--workspace", "--color", "never"]))?;
        Ok((ok, Some(counts)))
    });
    stage("browser tests", &mut || {
        let gateway = GatewayProcess::start(&[
            "--addr",
            "127.0.0.1:0",
            "--cors-allow-origin",
            "*",
            "--api-key",
            TEST_API_KEY,
            // Browser tests publish thousands of frames from one page.
            "--max-frames-per-sec",
            "1000000",
        ])?;
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

    stage("example apps", &mut || {
        let (passed, failed) = crate::examples::run_examples()?;
        Ok((failed == 0, Some(Counts { passed, failed })))
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
