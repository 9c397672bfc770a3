//! Installing what the test command needs: the wasm32 target, wasm-bindgen-cli at the
//! Cargo.lock version, Debian's chromium and chromium-driver.

use crate::{cargo, output, root, run, CHROMEDRIVER};
use anyhow::{bail, Context, Result};
use std::path::Path;
use std::process::Command;

/// The exact wasm-bindgen version of Cargo.lock (wasm-bindgen-cli must match it).
pub(crate) fn locked_wasm_bindgen_version() -> Result<String> {
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
pub(crate) fn setup() -> Result<()> {
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
