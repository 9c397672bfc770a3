//! The moorline gateway binary. `--help` lists every flag and environment variable.

use clap::Parser;
use moorline_gateway::{Config, Gateway};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    if config.log_json {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .json()
            .init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let gateway = Gateway::bind(config).await?;
    // Tools (the xtask, tests) read this line to learn the port.
    println!(
        "moorline-gateway listening on ws://{}/ws",
        gateway.local_addr()
    );
    shutdown_signal().await;
    tracing::info!("shutdown signal: draining");
    gateway.drain().await;
    tracing::info!("drained; exiting");
    Ok(())
}

/// SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
