//! # portico-fuzz
//!
//! Fuzz targets for the code that reads untrusted input: each is a function of arbitrary bytes
//! that returns normally for every input and panics only when a property the rest of Portico
//! relies on is broken. The same functions run in three ways:
//!
//! - `cargo test -p portico-fuzz`: every seed in `fuzz/corpus/` plus a few hundred generated
//!   and mutated inputs per target (proptest), on stable, in CI;
//! - `scripts/fuzz.sh`: coverage-guided with libFuzzer (`cargo fuzz`, nightly), briefly in CI
//!   and for as long as asked by hand;
//! - a crash file replays with `cargo test -p portico-fuzz` once it is added to the corpus.
//!
//! Targets: [`yaml::documents`], [`snapshot::decode`], [`routing::lookup`],
//! [`head::scan`], [`proxy::parse`], [`paths::normalize`], [`hello::scan`].

pub mod head;
pub mod hello;
pub mod input;
pub mod paths;
pub mod proxy;
pub mod routing;
pub mod snapshot;
pub mod yaml;

/// A fuzz target: returns for every input, panics when a property is broken.
pub type Target = fn(&[u8]);

/// Every target, by the name its corpus directory and libFuzzer binary have.
pub const TARGETS: [(&str, Target); 7] = [
    ("yaml_documents", yaml::documents),
    ("snapshot_decode", snapshot::decode),
    ("routing_lookup", routing::lookup),
    ("request_head", head::scan),
    ("proxy_protocol", proxy::parse),
    ("normalize_path", paths::normalize),
    ("client_hello", hello::scan),
];
