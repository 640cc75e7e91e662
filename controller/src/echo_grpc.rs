//! `portico echo --grpc`: the demo backend as a gRPC server (cleartext HTTP/2, or TLS with
//! ALPN `h2` to stand for a backend behind a BackendTLSPolicy). It serves `portico.echo.v1.Echo`
//! (`controller/proto/portico/echo/v1/echo.proto`): unary, server-, client- and bidirectional
//! streaming calls, each reply naming the backend, the method and the metadata that arrived, so
//! routing, header filters and deadlines are easy to see; a request may ask for a failure with
//! a given status code, to show statuses passing through.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use anyhow::Context;
use futures::Stream;
use tokio_stream::StreamExt;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic::{Request, Response, Status, Streaming};

/// The generated service and messages.
pub mod proto {
    #![allow(missing_docs)]
    tonic::include_proto!("portico.echo.v1");
}

use proto::echo_server::{Echo, EchoServer};
use proto::{EchoReply, EchoRequest, RepeatRequest};

/// Most replies one `Repeat` call may ask for.
const MAX_REPEATS: u32 = 10_000;
/// The longest wait between two `Repeat` replies.
const MAX_INTERVAL: Duration = Duration::from_secs(10);

/// The Echo service of one backend.
struct EchoService {
    name: String,
}

type ReplyStream = Pin<Box<dyn Stream<Item = Result<EchoReply, Status>> + Send>>;

impl EchoService {
    /// A reply to a call on `method` with `metadata`.
    fn reply(
        &self,
        method: &str,
        metadata: &tonic::metadata::MetadataMap,
        message: String,
    ) -> EchoReply {
        tracing::info!(backend = %self.name, method, "call");
        let metadata = metadata
            .clone()
            .into_headers()
            .iter()
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_string())))
            .collect::<HashMap<_, _>>();
        EchoReply {
            message,
            backend: self.name.clone(),
            method: format!("/portico.echo.v1.Echo/{method}"),
            metadata,
        }
    }
}

/// The failure a request asks for, if any.
fn failure(request: &EchoRequest, backend: &str) -> Result<(), Status> {
    match request.fail_with_code {
        0 => Ok(()),
        code => Err(Status::new(
            tonic::Code::from(i32::try_from(code).unwrap_or(i32::MAX)),
            format!("failed on purpose by {backend}"),
        )),
    }
}

#[tonic::async_trait]
impl Echo for EchoService {
    async fn say(&self, request: Request<EchoRequest>) -> Result<Response<EchoReply>, Status> {
        failure(request.get_ref(), &self.name)?;
        let reply = self.reply("Say", request.metadata(), request.get_ref().message.clone());
        Ok(Response::new(reply))
    }

    type RepeatStream = ReplyStream;

    async fn repeat(
        &self,
        request: Request<RepeatRequest>,
    ) -> Result<Response<Self::RepeatStream>, Status> {
        let RepeatRequest {
            message,
            count,
            interval_ms,
        } = request.get_ref().clone();
        let reply = self.reply("Repeat", request.metadata(), String::new());
        let interval = Duration::from_millis(interval_ms.into()).min(MAX_INTERVAL);
        let replies = futures::stream::iter(0..count.min(MAX_REPEATS)).then(move |i| {
            let reply = EchoReply {
                message: format!("{message} {i}"),
                ..reply.clone()
            };
            async move {
                if i > 0 {
                    tokio::time::sleep(interval).await;
                }
                Ok(reply)
            }
        });
        Ok(Response::new(Box::pin(replies)))
    }

    async fn collect(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<EchoReply>, Status> {
        let metadata = request.metadata().clone();
        let mut requests = request.into_inner();
        let mut messages = Vec::new();
        while let Some(request) = requests.next().await {
            let request = request?;
            failure(&request, &self.name)?;
            messages.push(request.message);
        }
        Ok(Response::new(self.reply(
            "Collect",
            &metadata,
            messages.join(" "),
        )))
    }

    type ChatStream = ReplyStream;

    async fn chat(
        &self,
        request: Request<Streaming<EchoRequest>>,
    ) -> Result<Response<Self::ChatStream>, Status> {
        let reply = self.reply("Chat", request.metadata(), String::new());
        let name = self.name.clone();
        let replies = request.into_inner().map(move |request| {
            let request = request?;
            failure(&request, &name)?;
            Ok(EchoReply {
                message: request.message,
                ..reply.clone()
            })
        });
        Ok(Response::new(Box::pin(replies)))
    }
}

/// The TLS identity of PEM files `cert` (chain) and `key`.
pub fn identity(cert: &Path, key: &Path) -> anyhow::Result<Identity> {
    let read = |path: &Path| {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    };
    Ok(Identity::from_pem(read(cert)?, read(key)?))
}

/// Serve the Echo service as backend `name` on `address` until interrupted, over TLS with
/// `tls` when given.
pub async fn run(address: SocketAddr, name: String, tls: Option<Identity>) -> anyhow::Result<()> {
    tracing::info!(%name, %address, tls = tls.is_some(), "gRPC echo backend listening");
    let service = EchoServer::new(EchoService { name });
    let mut server = tonic::transport::Server::builder();
    if let Some(identity) = tls {
        server = server
            .tls_config(ServerTlsConfig::new().identity(identity))
            .context("TLS settings")?;
    }
    server
        .add_service(service)
        .serve_with_shutdown(address, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
