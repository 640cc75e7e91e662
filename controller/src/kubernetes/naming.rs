//! Names and labels of what Portico writes to the API server: the field manager of its
//! server-side applies, and the objects it provisions for a Gateway. A leaf module.

/// Field manager of every status and object Portico applies.
pub const FIELD_MANAGER: &str = "portico-controller";
/// Label naming the component of provisioned objects.
pub const NAME_LABEL: &str = "app.kubernetes.io/name";
/// [`NAME_LABEL`]'s value on provisioned data planes.
pub const DATAPLANE_NAME: &str = "portico-dataplane";
/// Label naming the manager of provisioned objects.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// [`MANAGED_BY_LABEL`]'s value.
pub const MANAGED_BY: &str = "portico";
/// Label naming the Gateway (by object name) a provisioned object serves.
pub const GATEWAY_LABEL: &str = "gateway.portico.dev/gateway";
/// The Gateway API's label naming the Gateway a generated object serves (GEP-1762), on every
/// provisioned object whose Gateway name fits a label value.
pub const GATEWAY_NAME_LABEL: &str = "gateway.networking.k8s.io/gateway-name";

/// Name of every object provisioned for `gateway`: `portico-<gateway>` when that is a valid
/// DNS label (at most 63 characters, no dots), else a shortened, dot-free prefix plus a hash of
/// the full name, so two Gateways never share objects.
pub fn object_name(gateway: &str) -> String {
    let plain = format!("portico-{gateway}");
    if plain.len() <= 63 && !plain.contains('.') {
        return plain;
    }
    let hash = gateway.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    let prefix: String = plain.replace('.', "-").chars().take(46).collect();
    format!("{}-{hash:016x}", prefix.trim_end_matches('-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_names_read_plainly() {
        assert_eq!(object_name("gw"), "portico-gw");
    }

    #[test]
    fn long_or_dotted_names_stay_valid_and_distinct() {
        let long = "a".repeat(60);
        let a = object_name(&format!("{long}-one"));
        let b = object_name(&format!("{long}-two"));
        assert_ne!(
            a, b,
            "Gateways sharing a long prefix must not share objects"
        );
        for name in [&a, &b, &object_name("with.dots.in.it")] {
            assert!(
                name.len() <= 63 && !name.contains('.'),
                "{name} is not a DNS label"
            );
        }
    }
}
