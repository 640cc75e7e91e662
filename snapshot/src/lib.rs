//! # portico-snapshot
//!
//! The contract between Portico's controller and its data planes.
//!
//! - [`model`]: the snapshot as plain, typed Rust data ([`route`] for the HTTP routes its
//!   listeners carry, [`grpc_route`] for the gRPC ones,
//!   [`stream_route`] for the TCP, TLS and UDP ones, [`names`] for its keys, [`http_values`] and [`cors_origin`] for values
//!   checked once where they enter the model). The translator produces it, the data plane's
//!   router compiles it; neither depends on wire types.
//! - [`validate`]: the checks a data plane runs before it swaps a snapshot in. A snapshot that
//!   fails them is rejected (NACK) and the last good one keeps serving.
//! - [`wire`]: the gRPC service generated from `proto/portico/snapshot/v1/snapshot.proto`, and
//!   the conversions between it and [`model`]. See `docs/snapshot-protocol.md`. Only with the
//!   `grpc` feature, so crates that need just the model do not compile tonic.

pub mod backend_tls;
pub mod certificate;
pub mod client_validation;
pub mod cors_origin;
pub mod grpc_route;
pub mod http_values;
pub mod model;
pub mod names;
pub mod route;
pub mod stream_route;
pub mod validate;
#[cfg(feature = "grpc")]
pub mod wire;

pub use backend_tls::{BackendTls, BackendTrust, SubjectAltName};
pub use client_validation::{ClientValidation, ClientValidationMode};
pub use cors_origin::OriginPattern;
pub use grpc_route::{GrpcMatch, GrpcRoute, GrpcRule};
pub use http_values::{
    HeaderName, HeaderValue, InvalidHttpValue, Method, RedirectCode, RegexPattern, Scheme,
};
pub use model::*;
pub use names::{ClusterName, ListenerKey};
pub use route::*;
pub use stream_route::{StreamBackend, StreamRoute};
pub use validate::{ValidationError, validate};
