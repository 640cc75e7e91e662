//! The API server as pods see it: a TCP relay from the bridge address to wherever the API
//! server listens (loopback, out of the pods' reach). TLS passes through untouched; pods verify
//! the API server's own certificate, which names `kubernetes.default.svc`.

use std::net::SocketAddr;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Listen on `listen` and relay every connection to `target` (`host:port`).
pub async fn start(listen: SocketAddr, target: String) -> anyhow::Result<JoinHandle<()>> {
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("relaying the API server on {listen}"))?;
    tracing::info!(%listen, %target, "API server relay for pods");
    Ok(tokio::spawn(async move {
        loop {
            let Ok((mut inbound, _)) = listener.accept().await else {
                continue;
            };
            let target = target.clone();
            tokio::spawn(async move {
                match TcpStream::connect(&target).await {
                    Ok(mut outbound) => {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                    Err(error) => tracing::warn!(%target, %error, "cannot reach the API server"),
                }
            });
        }
    }))
}
