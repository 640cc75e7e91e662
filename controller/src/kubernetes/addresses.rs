//! A provisioned Gateway's `status.addresses`: where clients reach its data plane.

use gateway_api::gateways::GatewayStatusAddresses;
use kube::runtime::reflector::ObjectRef as StoreRef;
use portico_snapshot::ObjectRef;

use super::gateway_parameters::for_gateway;
use super::naming::object_name;
use super::stores::Stores;

/// What a provisioned Gateway's `status.addresses` should say: the Service's load-balancer
/// addresses, else the addresses its parameters give, else the Service's cluster IP.
pub fn addresses(gateway: &ObjectRef, stores: &Stores) -> Option<Vec<GatewayStatusAddresses>> {
    let service = stores
        .services
        .get(&StoreRef::new(&object_name(&gateway.name)).within(&gateway.namespace))?;
    let address = |value: String| {
        let kind = if value.parse::<std::net::IpAddr>().is_ok() {
            "IPAddress"
        } else {
            "Hostname"
        };
        GatewayStatusAddresses {
            r#type: Some(kind.to_string()),
            value,
        }
    };
    let balanced: Vec<_> = service
        .status
        .iter()
        .flat_map(|s| s.load_balancer.iter())
        .flat_map(|lb| lb.ingress.iter().flatten())
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .map(address)
        .collect();
    if !balanced.is_empty() {
        return Some(balanced);
    }
    let gateway_object = stores
        .gateways
        .get(&StoreRef::new(&gateway.name).within(&gateway.namespace))?;
    let configured: Vec<_> = for_gateway(&gateway_object, stores)
        .service
        .and_then(|s| s.addresses)
        .unwrap_or_default()
        .into_iter()
        .map(address)
        .collect();
    if !configured.is_empty() {
        return Some(configured);
    }
    let cluster_ip = service.spec.as_ref()?.cluster_ip.clone()?;
    Some(vec![address(cluster_ip)])
}
