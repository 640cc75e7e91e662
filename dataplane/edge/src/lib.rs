//! # portico-edge
//!
//! Pure parsers for the first bytes of a downstream connection, which the data plane reads
//! itself before handing the connection to Pingora: they see hostile input first, so they are
//! small, allocation-free, linear in their input, and fuzzed (`fuzz/`).
//!
//! - [`client_hello`]: the server name of a TLS ClientHello, which TLS listeners route by.
//! - [`proxy_protocol`]: the PROXY protocol header (v1 and v2) a load balancer sends first.
//! - [`request_head`]: where an HTTP/1 request head ends, within size and count limits.

pub mod client_hello;
pub mod proxy_protocol;
pub mod request_head;
