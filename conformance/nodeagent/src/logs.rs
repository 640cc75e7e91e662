//! The kubelet's log endpoint, so `kubectl logs` (the API server's `pods/log`) works: HTTPS on
//! the node address (loopback, so only the host reaches it) at `--kubelet-port`, serving
//! `GET /containerLogs/{namespace}/{pod}/{container}` with `tailLines`, `limitBytes` and
//! `follow`. The certificate is self-signed; the local API server does not verify kubelets.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use bytes::Bytes;
use futures::StreamExt;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::pods::Agent;

type Body = BoxBody<Bytes, std::io::Error>;

/// Serve container logs on `listen` until the task is dropped.
pub async fn serve(listen: SocketAddr, agent: Arc<Agent>) -> anyhow::Result<JoinHandle<()>> {
    let certified =
        rcgen::generate_simple_self_signed(vec![agent.node_name.clone(), listen.ip().to_string()])
            .context("making the kubelet certificate")?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .context("kubelet TLS configuration")?;
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("serving container logs on {listen}"))?;
    tracing::info!(%listen, "container logs served");
    Ok(tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (acceptor, agent) = (acceptor.clone(), agent.clone());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(move |request| {
                    let agent = agent.clone();
                    async move { Ok::<_, Infallible>(answer(&agent, request).await) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }))
}

/// What a log request asks for.
#[derive(Debug, Default, PartialEq, Eq)]
struct Query {
    tail_lines: Option<usize>,
    limit_bytes: Option<usize>,
    follow: bool,
}

fn query(text: Option<&str>) -> Query {
    let mut query = Query::default();
    for (key, value) in text
        .unwrap_or_default()
        .split('&')
        .filter_map(|p| p.split_once('='))
    {
        match key {
            "tailLines" => query.tail_lines = value.parse().ok(),
            "limitBytes" => query.limit_bytes = value.parse().ok(),
            "follow" => query.follow = value == "true",
            _ => {}
        }
    }
    query
}

/// The last `lines` lines of `text`.
fn tail(text: &[u8], lines: usize) -> &[u8] {
    let trimmed = text.strip_suffix(b"\n").unwrap_or(text);
    let start = trimmed
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, b)| **b == b'\n')
        .nth(lines.saturating_sub(1))
        .map_or(0, |(i, _)| i + 1);
    if lines == 0 {
        &text[text.len()..]
    } else {
        &text[start..]
    }
}

async fn answer(agent: &Agent, request: Request<Incoming>) -> Response<Body> {
    let path: Vec<&str> = request.uri().path().trim_matches('/').split('/').collect();
    let ["containerLogs", namespace, pod, container] = path.as_slice() else {
        return plain(
            StatusCode::NOT_FOUND,
            "only /containerLogs/{namespace}/{pod}/{container}",
        );
    };
    let file = agent.log_path(namespace, pod, container);
    let Ok(content) = tokio::fs::read(&file).await else {
        return plain(
            StatusCode::NOT_FOUND,
            &format!("container {container} of pod {namespace}/{pod} has no log on this node"),
        );
    };
    let query = query(request.uri().query());
    let mut first = match query.tail_lines {
        Some(lines) => tail(&content, lines).to_vec(),
        None => content.clone(),
    };
    if let Some(limit) = query.limit_bytes {
        first.truncate(limit);
    }
    if !query.follow {
        return Response::new(
            Full::new(Bytes::from(first))
                .map_err(|e| match e {})
                .boxed(),
        );
    }
    let stream = futures::stream::once(async move { Ok(Frame::data(Bytes::from(first))) })
        .chain(follow(file, u64::try_from(content.len()).unwrap_or(0)));
    Response::new(BodyExt::boxed(StreamBody::new(stream)))
}

/// What is appended to `file` after `offset`, until the file goes (its pod was deleted). The
/// client going away drops the stream.
fn follow(
    file: PathBuf,
    offset: u64,
) -> impl futures::Stream<Item = Result<Frame<Bytes>, std::io::Error>> {
    futures::stream::unfold((file, offset), |(file, offset)| async move {
        loop {
            tokio::time::sleep(Duration::from_millis(250)).await;
            let mut handle = tokio::fs::File::open(&file).await.ok()?;
            let length = handle.metadata().await.ok()?.len();
            if length > offset {
                handle.seek(std::io::SeekFrom::Start(offset)).await.ok()?;
                let mut appended = Vec::new();
                handle.read_to_end(&mut appended).await.ok()?;
                let next = offset + u64::try_from(appended.len()).unwrap_or(0);
                return Some((Ok(Frame::data(Bytes::from(appended))), (file, next)));
            }
        }
    })
}

fn plain(status: StatusCode, message: &str) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(message.to_string()))
            .map_err(|e| match e {})
            .boxed(),
    );
    *response.status_mut() = status;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_query_the_api_server_sends() {
        assert_eq!(
            query(Some(
                "tailLines=2&follow=true&limitBytes=10&timestamps=false"
            )),
            Query {
                tail_lines: Some(2),
                limit_bytes: Some(10),
                follow: true
            }
        );
        assert_eq!(query(None), Query::default());
    }

    #[test]
    fn tails_whole_lines() {
        assert_eq!(tail(b"a\nb\nc\n", 2), b"b\nc\n");
        assert_eq!(tail(b"a\nb\nc", 1), b"c");
        assert_eq!(tail(b"a\n", 5), b"a\n");
        assert_eq!(tail(b"a\nb\n", 0), b"");
    }
}
