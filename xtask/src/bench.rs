//! `cargo xtask bench`: build the release gateway and run `moorline-bench` against it.
//! It prints numbers (idle memory per connection, fan-out rate, latency); nothing in
//! the test command depends on them.

use crate::{cargo, root, run};
use anyhow::{bail, Result};
use std::path::PathBuf;

pub(crate) fn bench() -> Result<()> {
    if !run(cargo().args(["build", "--release", "-q", "-p", "moorline-gateway"]))? {
        bail!("building the release gateway failed");
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"));
    let gateway = target.join("release").join("moorline-gateway");
    let ok = run(cargo()
        .args([
            "run",
            "--release",
            "-q",
            "-p",
            "moorline-tests",
            "--bin",
            "moorline-bench",
            "--",
        ])
        .arg(gateway))?;
    if !ok {
        bail!("the bench failed");
    }
    Ok(())
}
