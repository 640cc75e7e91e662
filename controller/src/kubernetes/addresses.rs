//! A provisioned Gateway's `status.addresses`: where clients reach its data plane. Static
//! addresses the Gateway asks for (`spec.addresses`) are requested from its Service's load
//! balancer (`spec.loadBalancerIP`, one per Service); only those the load balancer assigned
//! are reported, and any other makes the Gateway `AddressNotUsable`.

use std::net::IpAddr;

use gateway_api::gateways::GatewayStatusAddresses;
use k8s_openapi::api::core::v1::Service;
use kube::runtime::reflector::ObjectRef as StoreRef;
use portico_snapshot::ObjectRef;
use portico_translate::addresses::static_addresses;

use super::gateway_parameters::for_gateway;
use super::naming::object_name;
use super::stores::Stores;
use crate::status::ProvisionedAddresses;

/// What a provisioned Gateway's status should say about its addresses. Without static
/// addresses: the Service's load-balancer addresses, else the addresses its parameters give,
/// else the Service's cluster IP.
pub fn addresses(gateway: &ObjectRef, stores: &Stores) -> Option<ProvisionedAddresses> {
    let service_name = object_name(&gateway.name);
    let service = stores
        .services
        .get(&StoreRef::new(&service_name).within(&gateway.namespace))?;
    let gateway_object = stores
        .gateways
        .get(&StoreRef::new(&gateway.name).within(&gateway.namespace))?;
    let balanced = balanced(&service);
    let requested = static_addresses(&gateway_object);
    if !requested.is_empty() {
        let service = ObjectRef {
            namespace: gateway.namespace.clone(),
            name: service_name,
        };
        return Some(static_status(&requested, &balanced, &service));
    }
    let dynamic = if balanced.is_empty() {
        let configured: Vec<_> = for_gateway(&gateway_object, stores)
            .service
            .and_then(|s| s.addresses)
            .unwrap_or_default();
        if configured.is_empty() {
            service
                .spec
                .as_ref()?
                .cluster_ip
                .clone()
                .into_iter()
                .collect()
        } else {
            configured
        }
    } else {
        balanced
    };
    Some(ProvisionedAddresses {
        addresses: dynamic.into_iter().map(address).collect(),
        not_usable: None,
    })
}

/// The requested addresses the load balancer assigned (`balanced`), and why any other is not
/// in use.
fn static_status(
    requested: &[IpAddr],
    balanced: &[String],
    service: &ObjectRef,
) -> ProvisionedAddresses {
    let assigned: Vec<IpAddr> = balanced.iter().filter_map(|b| b.parse().ok()).collect();
    let (usable, unusable): (Vec<IpAddr>, Vec<IpAddr>) =
        requested.iter().partition(|r| assigned.contains(r));
    let not_usable = (!unusable.is_empty()).then(|| {
        let list = unusable
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let why = if requested.len() > 1 {
            format!("Service {service} can request one address from its load balancer (the first listed); list one address")
        } else if balanced.is_empty() {
            format!("the load balancer of Service {service} has not assigned it: an address outside its pools, or taken, never is")
        } else {
            format!("the load balancer of Service {service} assigned {} instead", balanced.join(", "))
        };
        format!("address {list} cannot be used: {why}")
    });
    ProvisionedAddresses {
        addresses: usable.iter().map(|ip| address(ip.to_string())).collect(),
        not_usable,
    }
}

/// The addresses a load balancer assigned to `service`.
fn balanced(service: &Service) -> Vec<String> {
    service
        .status
        .iter()
        .flat_map(|s| s.load_balancer.iter())
        .flat_map(|lb| lb.ingress.iter().flatten())
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .collect()
}

/// An address with the type its value has.
fn address(value: String) -> GatewayStatusAddresses {
    let kind = if value.parse::<IpAddr>().is_ok() {
        "IPAddress"
    } else {
        "Hostname"
    };
    GatewayStatusAddresses {
        r#type: Some(kind.to_string()),
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(value: &str) -> IpAddr {
        value.parse().expect("an IP address")
    }

    fn service() -> ObjectRef {
        ObjectRef {
            namespace: "infra".into(),
            name: "portico-gw".into(),
        }
    }

    #[test]
    fn an_assigned_static_address_is_reported_alone() {
        let status = static_status(
            &[ip("10.250.0.250")],
            &["10.250.0.250".to_string()],
            &service(),
        );
        assert_eq!(status.not_usable, None);
        assert_eq!(status.addresses, [address("10.250.0.250".into())]);
    }

    #[test]
    fn a_static_address_the_load_balancer_did_not_assign_is_not_usable() {
        let pending = static_status(&[ip("192.0.2.1")], &[], &service());
        assert!(pending.addresses.is_empty());
        let message = pending.not_usable.unwrap_or_default();
        assert!(message.contains("192.0.2.1"), "{message}");

        let other = static_status(&[ip("192.0.2.1")], &["10.250.0.7".to_string()], &service());
        assert!(
            other.addresses.is_empty(),
            "never the address assigned instead"
        );
        let message = other.not_usable.unwrap_or_default();
        assert!(message.contains("10.250.0.7"), "{message}");
    }

    #[test]
    fn only_one_static_address_can_be_requested() {
        let status = static_status(
            &[ip("192.0.2.1"), ip("10.250.0.250")],
            &["10.250.0.250".to_string()],
            &service(),
        );
        assert_eq!(status.addresses, [address("10.250.0.250".into())]);
        let message = status.not_usable.unwrap_or_default();
        assert!(
            message.contains("192.0.2.1") && message.contains("one address"),
            "{message}"
        );
    }
}
