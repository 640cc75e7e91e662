//! # portico-router
//!
//! Pure HTTP routing tables, compiled once from a [`portico_snapshot::Snapshot`] and then
//! consulted on every request without locks, allocation or a scan over all routes.
//!
//! - [`conditions`]: what a match asks of a request besides its path (method, headers, query
//!   parameters).
//! - [`error`]: why a snapshot cannot be compiled.
//! - `grpc`: GRPCRoute matches filed as paths (`/{service}/{method}`) with their precedence.
//! - [`hosts`]: hostname lookup (exact, then wildcards from most to least specific, then any).
//! - [`normalize`]: request paths normalised (dot segments, percent-encoding, slashes) before
//!   they are matched and forwarded.
//! - [`paths`]: path lookup (exact, then regular expressions, then prefixes from longest to
//!   shortest), each path with its candidates' conditions.
//! - [`rule`]: the [`RouteAction`] a matched rule yields: header edits, redirect or rewrite,
//!   timeouts, weighted backends.
//! - [`table`]: the per-socket table tying them together.
//! - [`streams`]: layer-4 routing (TCP, TLS by server name, UDP) and weighted backend choice.
//! - [`action`]: the [`Decision`] for a request (forward, possibly to a rewritten path;
//!   redirect; or answer with a status), which the data plane only carries out.
//!
//! Precedence follows the Gateway API HTTPRoute rules: the most specific listener hostname picks
//! the listener; then exact route hostnames beat wildcard ones; then an exact path beats a
//! regular expression, which beats a prefix, and a longer prefix beats a shorter one; then a
//! method match wins, then more header matches, then more query parameter matches; then the older
//! route, then rule order. GRPCRoute matches rank by the characters of exact service, then of
//! exact method, then by header matches.
//!
//! ```
//! use portico_router::{Request, Router};
//! # fn main() -> Result<(), portico_router::table::BuildError> {
//! let router = Router::build(&portico_snapshot::Snapshot::default())?;
//! let headers = http::HeaderMap::new();
//! let request = Request {
//!     host: "example.com",
//!     method: &http::Method::GET,
//!     path: "/",
//!     query: None,
//!     headers: &headers,
//! };
//! // No listener on this socket, so nothing routes.
//! let any = std::net::IpAddr::from([0, 0, 0, 0]);
//! let routed = router.socket(any, 80).and_then(|socket| socket.route(&request));
//! assert!(routed.is_none());
//! # Ok(())
//! # }
//! ```

pub mod action;
pub mod conditions;
pub mod cors;
pub mod error;
mod grpc;
pub mod hosts;
pub mod normalize;
pub mod paths;
pub mod rule;
pub mod streams;
pub mod table;

pub use action::{Action, Decision};
pub use rule::{Backend, RetryPolicy, RouteAction, RuleKind, WeightedBackends};
pub use table::{Request, RouteMatch, Router, SocketRouter};
