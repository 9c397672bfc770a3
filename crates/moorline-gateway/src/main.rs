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
    let token = gateway.shutdown_token();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("interrupt: shutting down");
        token.cancel();
    });
    #[cfg(unix)]
    {
        let token = gateway.shutdown_token();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::spawn(async move {
            term.recv().await;
            tracing::info!("SIGTERM: shutting down");
            token.cancel();
        });
    }
    gateway.wait().await?;
    Ok(())
}
