//! Routing lookups with arbitrary hosts, paths, queries and headers against a fixed table
//! (`routing_table.yaml`): every lookup ends, and the same request always gets the same
//! decision.

use std::sync::OnceLock;

use http::{HeaderMap, HeaderName, HeaderValue, Method};
use portico_router::hosts::normalize_host;
use portico_router::{Request, Router};
use portico_snapshot::Snapshot;

use crate::input::Input;

/// The table, translated from YAML once.
fn table() -> &'static (Snapshot, Router) {
    static TABLE: OnceLock<(Snapshot, Router)> = OnceLock::new();
    TABLE.get_or_init(|| {
        let output = crate::yaml::translated(include_str!("routing_table.yaml"));
        let snapshot = portico_translate::merge(1, &output.gateways);
        let router = Router::build(&snapshot).unwrap_or_else(|e| panic!("routing table: {e}"));
        (snapshot, router)
    })
}

/// Methods a request may have (any byte picks one).
const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::DELETE, Method::PATCH];

/// Route the request `data` describes (random byte, method byte, host, path, query, then header
/// name/value pairs, each field ended by `0xff`) on every socket of the table.
pub fn lookup(data: &[u8]) {
    let mut input = Input::new(data);
    let random = u64::from(input.byte());
    let method = &METHODS[usize::from(input.byte()) % METHODS.len()];
    let authority = input.text();
    let path = input.text();
    let query = input.text();
    let mut headers = HeaderMap::new();
    for _ in 0..8 {
        let (name, value) = (input.field(), input.field());
        if let (Ok(name), Ok(value)) =
            (HeaderName::from_bytes(name), HeaderValue::from_bytes(value))
        {
            headers.append(name, value);
        }
    }
    let host = normalize_host(&authority);
    let request = Request {
        host: &host,
        method,
        path: &path,
        query: (!query.is_empty()).then_some(query.as_str()),
        headers: &headers,
    };
    let (snapshot, router) = table();
    for listener in snapshot.gateways.iter().flat_map(|g| &g.listeners) {
        let Some(socket) = router.socket(listener.address, listener.port) else {
            panic!("no socket for listener {:?}", listener.key);
        };
        let first = format!("{:?}", socket.decide(&request, random));
        let second = format!("{:?}", socket.decide(&request, random));
        assert_eq!(first, second, "the same request was routed two ways");
    }
}
