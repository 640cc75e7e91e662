//! Snapshots as a data plane receives them: arbitrary bytes decoded as the wire message,
//! converted and validated. A snapshot that passes must build a router and survive a round
//! trip through the wire format unchanged.

use portico_snapshot::Snapshot;
use portico_snapshot::wire::proto;
use portico_translate::Output;
use prost::Message;

/// Decode `data` as a snapshot message and take it as far as the data plane would.
pub fn decode(data: &[u8]) {
    let Ok(message) = proto::Snapshot::decode(data) else {
        return;
    };
    let Ok(snapshot) = Snapshot::try_from(message) else {
        return;
    };
    if portico_snapshot::validate(&snapshot).is_err() {
        return;
    }
    if let Err(error) = portico_router::Router::build(&snapshot) {
        panic!("a valid snapshot builds no router: {error}");
    }
    let again = Snapshot::try_from(proto::Snapshot::from(snapshot.clone()));
    assert_eq!(
        again.as_ref().ok(),
        Some(&snapshot),
        "a valid snapshot changed on its way through the wire format"
    );
}

/// [`decode`]'s seed inputs: the wire form of what the YAML seeds translate to.
pub fn encode(output: &Output) -> Vec<u8> {
    proto::Snapshot::from(portico_translate::merge(1, &output.gateways)).encode_to_vec()
}
