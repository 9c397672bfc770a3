//! `cargo xtask demo`: build both example apps with wasm-bindgen-cli and serve them,
//! with demo data, from the gateway.

use crate::gateway::GatewayProcess;
use crate::setup::setup;
use crate::{cargo, root, run};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

/// The example apps: (package, directory under the demo root).
pub(crate) const APPS: [(&str, &str); 2] =
    [("leptos-dashboard", "leptos"), ("yew-dashboard", "yew")];

/// Where the built apps go.
pub(crate) fn demo_dir() -> PathBuf {
    std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("target"))
        .join("demo")
}

/// Build both apps for wasm32 and run wasm-bindgen on them; returns the demo root.
pub(crate) fn build_apps() -> Result<PathBuf> {
    let out = demo_dir();
    let target = out
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    for (package, dir) in APPS {
        if !run(cargo().args([
            "build",
            "-q",
            "-p",
            package,
            "--target",
            "wasm32-unknown-unknown",
        ]))? {
            bail!("building {package} failed");
        }
        let wasm = target
            .join("wasm32-unknown-unknown")
            .join("debug")
            .join(format!("{package}.wasm"));
        let app_dir = out.join(dir);
        std::fs::create_dir_all(&app_dir)?;
        let ok = run(Command::new("wasm-bindgen")
            .args(["--target", "web", "--no-typescript"])
            .args(["--out-name", &package.replace('-', "_"), "--out-dir"])
            .arg(&app_dir)
            .arg(&wasm))?;
        if !ok {
            bail!("wasm-bindgen failed for {package}");
        }
        std::fs::copy(
            root().join("examples").join(package).join("index.html"),
            app_dir.join("index.html"),
        )
        .with_context(|| format!("copying the index.html of {package}"))?;
    }
    std::fs::copy(
        root().join("examples").join("style.css"),
        out.join("style.css"),
    )?;
    std::fs::write(
        out.join("index.html"),
        "<!doctype html><meta charset=\"utf-8\"><title>moorline demo</title>\
         <link rel=\"stylesheet\" href=\"style.css\"><h1>moorline demo</h1>\
         <p><a href=\"leptos/\">Leptos dashboard</a> · <a href=\"yew/\">Yew dashboard</a></p>",
    )?;
    Ok(out)
}

/// The gateway arguments that serve the demo.
pub(crate) fn gateway_args(addr: &str, dir: &str) -> Vec<String> {
    [
        "--addr",
        addr,
        "--static-dir",
        dir,
        "--demo",
        "--graceful-shutdown-ms",
        "1000",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect()
}

/// `cargo xtask demo [--port N]`.
pub(crate) fn demo(args: &[String]) -> Result<()> {
    let port = match args {
        [flag, port] if flag == "--port" => port.parse::<u16>().context("--port takes a number")?,
        [] => 8080,
        _ => bail!("usage: cargo xtask demo [--port N]"),
    };
    setup()?;
    let dir = build_apps()?;
    let dir = dir.to_string_lossy().into_owned();
    let args = gateway_args(&format!("127.0.0.1:{port}"), &dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gateway = GatewayProcess::start(&args)?;
    let base = gateway.http_url();
    println!();
    println!("moorline demo is running (Ctrl-C stops it):");
    println!("  Leptos dashboard  {base}/leptos/");
    println!("  Yew dashboard     {base}/yew/");
    println!("  metrics           {base}/metrics");
    println!();
    if !gateway.wait()? {
        bail!("the gateway exited with an error");
    }
    Ok(())
}
