//! # portico-edge
//!
//! Pure parsers for the first bytes of a downstream connection, which the data plane reads
//! itself before handing the connection to Pingora: they see hostile input first, so they are
//! small, allocation-free, linear in their input, and fuzzed (`fuzz/`).
//!
//! - [`proxy_protocol`]: the PROXY protocol header (v1 and v2) a load balancer sends first.
//! - [`request_head`]: where an HTTP/1 request head ends, within size and count limits.

pub mod proxy_protocol;
pub mod request_head;
