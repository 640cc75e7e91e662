//! gRPC clients of the demo service `portico echo --grpc` serves, through the gateway: tonic
//! channels over h2c (prior knowledge) or TLS with ALPN `h2`, for a given `:authority`.

use std::time::{Duration, Instant};

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

/// The generated client and messages.
pub mod proto {
    #![allow(missing_docs)]
    tonic::include_proto!("portico.echo.v1");
}

use proto::echo_client::EchoClient;
use proto::{EchoReply, EchoRequest};

/// An Echo client speaking h2c to the gateway on `port`, calling `authority`.
pub fn echo_client(port: u16, authority: &str) -> EchoClient<Channel> {
    let channel = endpoint(&format!("http://127.0.0.1:{port}"), authority).connect_lazy();
    EchoClient::new(channel)
}

/// An Echo client speaking TLS (ALPN `h2`) to the gateway on `port`, calling `authority`,
/// trusting only `trusted_pem`.
pub fn tls_echo_client(port: u16, authority: &str, trusted_pem: &str) -> EchoClient<Channel> {
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(trusted_pem))
        .domain_name(authority);
    let channel = endpoint(&format!("https://127.0.0.1:{port}"), authority)
        .tls_config(tls)
        .expect("TLS settings")
        .connect_lazy();
    EchoClient::new(channel)
}

fn endpoint(address: &str, authority: &str) -> Endpoint {
    let origin = format!("http://{authority}").parse().expect("authority");
    Endpoint::from_shared(address.to_string())
        .expect("address")
        .origin(origin)
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
}

/// A `Say` request with `message`.
pub fn say(message: &str) -> tonic::Request<EchoRequest> {
    tonic::Request::new(EchoRequest {
        message: message.to_string(),
        fail_with_code: 0,
    })
}

/// `Say` until it is answered by a backend (the gateway has the route), 30 s at most.
pub async fn first_reply(client: &mut EchoClient<Channel>) -> EchoReply {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.say(say("ready?")).await {
            Ok(reply) => return reply.into_inner(),
            Err(status) => assert!(Instant::now() < deadline, "never answered: {status}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
