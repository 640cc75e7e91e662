//! The PorticoProxy settings that apply to a Gateway, from the watched objects.

use gateway_api::gateways::Gateway;
use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef as StoreRef;

use super::parameters::{GROUP, KIND, PorticoProxy, PorticoProxySpec};
use super::stores::Stores;

/// The Gateway's parameters: its own `infrastructure.parametersRef`, else its class's.
pub fn for_gateway(gateway: &Gateway, stores: &Stores) -> PorticoProxySpec {
    let proxies = &stores.proxies;
    let namespace = gateway.namespace().unwrap_or_default();
    let own = gateway
        .spec
        .infrastructure
        .as_ref()
        .and_then(|i| i.parameters_ref.as_ref())
        .filter(|r| r.group == GROUP && r.kind == KIND)
        .map(|r| StoreRef::<PorticoProxy>::new(&r.name).within(&namespace));
    let class = stores
        .gateway_classes
        .get(&StoreRef::new(&gateway.spec.gateway_class_name))
        .and_then(|c| c.spec.parameters_ref.clone())
        .filter(|r| r.group == GROUP && r.kind == KIND)
        .map(|r| {
            StoreRef::<PorticoProxy>::new(&r.name)
                .within(r.namespace.as_deref().unwrap_or("default"))
        });
    own.into_iter()
        .chain(class)
        .find_map(|r| proxies.get(&r))
        .map(|p| p.spec.clone())
        .unwrap_or_default()
}
