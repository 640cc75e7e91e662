//! Every fuzz target over its committed seed corpus (`fuzz/corpus/<target>/`, plus the
//! translator's golden inputs for `yaml_documents`), then over generated inputs: random bytes
//! and seeds with bytes flipped, inserted or cut. `PROPTEST_CASES` sets how many per target
//! (256 by default; crashes found by `scripts/fuzz.sh` go into the corpus and replay here).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut dirs = vec![root.join("corpus").join(target)];
    if target == "yaml_documents" {
        dirs.push(root.join("../controller/translate/tests/testdata"));
    }
    let mut files: Vec<PathBuf> = dirs
        .iter()
        .flat_map(|dir| std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|path| !path.to_string_lossy().ends_with(".out.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds for {target}");
    files
        .iter()
        .map(|path| std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .collect()
}

/// Seeds changed the way a mutating fuzzer changes them.
fn mutated(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((any::<u8>(), any::<prop::sample::Index>(), 0..3u8), 1..8);
    (prop::sample::select(seeds), edits).prop_map(|(mut input, edits)| {
        for (byte, at, kind) in edits {
            let at = at.index(input.len() + 1);
            match kind {
                0 if at < input.len() => input[at] ^= byte | 1,
                1 => input.insert(at, byte),
                _ => input.truncate(at),
            }
        }
        input
    })
}

fn fuzz(target: &str) {
    let run = portico_fuzz::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, run)| *run)
        .expect("known target");
    let seeds = corpus(target);
    for seed in &seeds {
        run(seed);
    }
    let mut runner = TestRunner::new(Config::default());
    let inputs = prop_oneof![prop::collection::vec(any::<u8>(), 0..512), mutated(seeds),];
    runner
        .run(&inputs, |input| {
            run(&input);
            Ok(())
        })
        .unwrap_or_else(|failure| panic!("{target}: {failure}"));
}

#[test]
fn yaml_documents() {
    fuzz("yaml_documents");
}

#[test]
fn snapshot_decode() {
    fuzz("snapshot_decode");
}

#[test]
fn routing_lookup() {
    fuzz("routing_lookup");
}

#[test]
fn request_head() {
    fuzz("request_head");
}

#[test]
fn proxy_protocol() {
    fuzz("proxy_protocol");
}

#[test]
fn normalize_path() {
    fuzz("normalize_path");
}

#[test]
fn client_hello() {
    fuzz("client_hello");
}

#[test]
fn every_target_is_tested_here() {
    let source = include_str!("targets.rs");
    for (name, _) in portico_fuzz::TARGETS {
        assert!(
            source.contains(&format!("fn {name}()")),
            "{name} has no test"
        );
    }
}
