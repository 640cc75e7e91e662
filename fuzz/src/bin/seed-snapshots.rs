//! Regenerates `fuzz/corpus/snapshot_decode/` from the translator's golden inputs: each is
//! translated and its snapshot written in wire form, so `snapshot_decode` starts from real
//! snapshots. Run: `cargo run -p portico-fuzz --bin seed-snapshots`.

use std::path::Path;

fn main() -> std::io::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let inputs = root.join("../controller/translate/tests/testdata");
    let out = root.join("corpus/snapshot_decode");
    std::fs::create_dir_all(&out)?;
    let mut written = 0;
    for entry in std::fs::read_dir(&inputs)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(stem) = name.strip_suffix(".in.yaml") else {
            continue;
        };
        let output = portico_fuzz::yaml::translated(&std::fs::read_to_string(&path)?);
        if output.gateways.is_empty() {
            continue;
        }
        std::fs::write(
            out.join(format!("{stem}.pb")),
            portico_fuzz::snapshot::encode(&output),
        )?;
        written += 1;
    }
    println!("{written} snapshots written to {}", out.display());
    Ok(())
}
