//! # portico-router
//!
//! Pure HTTP routing tables, compiled once from a [`portico_snapshot::Snapshot`] and then
//! consulted on every request without locks, allocation or a scan over all routes.
//!
//! - [`hosts`]: hostname lookup (exact, then wildcards from most to least specific, then any).
//! - [`normalize`]: request paths normalised (dot segments, percent-encoding, slashes) before
//!   they are matched and forwarded.
//! - [`paths`]: path lookup (exact, then prefixes from longest to shortest) with header matches.
//! - [`table`]: the per-socket table tying them together, and the [`RouteAction`] a match yields.
//! - [`action`]: the [`Decision`] for a request (forward, redirect, or answer with a status),
//!   which the data plane only carries out.
//!
//! Precedence follows the Gateway API HTTPRoute rules: the most specific listener hostname picks
//! the listener; then exact route hostnames beat wildcard ones; then an exact path beats a prefix,
//! a longer prefix beats a shorter one; then more header matches win; then the older route, then
//! rule order.
//!
//! ```
//! use portico_router::{Request, Router};
//! # fn main() -> Result<(), portico_router::table::BuildError> {
//! let router = Router::build(&portico_snapshot::Snapshot::default())?;
//! let headers = http::HeaderMap::new();
//! let request = Request { host: "example.com", path: "/", query: None, headers: &headers };
//! // No listener on this socket, so nothing routes.
//! let any = std::net::IpAddr::from([0, 0, 0, 0]);
//! let routed = router.socket(any, 80).and_then(|socket| socket.route(&request));
//! assert!(routed.is_none());
//! # Ok(())
//! # }
//! ```

pub mod action;
pub mod hosts;
pub mod normalize;
pub mod paths;
pub mod table;

pub use action::{Action, Decision};
pub use table::{Request, RouteAction, RouteMatch, Router, SocketRouter, WeightedBackends};
