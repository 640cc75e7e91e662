//! # portico-translate
//!
//! The pure heart of Portico's controller: Gateway API objects in, per-Gateway snapshots and
//! object statuses out. No Kubernetes client, no async runtime, no clock: the caller supplies
//! [`Resources`] (from the API server or from YAML files) and stamps condition times itself.
//!
//! Pipeline, one module each:
//! 1. [`gateway`]: which GatewayClasses are ours, which Gateways we own, which listeners are valid
//!    (protocol, conflicts, allowed route kinds, TLS certificates via [`tls`]).
//! 2. [`route`]: which HTTPRoutes attach to which listeners ([`hostnames`] intersection,
//!    allowedRoutes, [`refgrant`]), and what their rules become.
//! 3. [`backends`]: backendRefs resolved through Services and EndpointSlices into clusters.
//!
//! ```no_run
//! use portico_translate::{translate, Options, Resources};
//! let output = translate(&Resources::default(), &Options::default());
//! for gateway in &output.gateways {
//!     println!("{} has {} listeners", gateway.config.gateway, gateway.config.listeners.len());
//! }
//! ```

pub mod backends;
pub mod conditions;
pub mod documents;
pub mod gateway;
mod hash;
pub mod hostnames;
pub mod memo;
pub mod output;
pub mod parameters;
pub mod references;
pub mod refgrant;
pub mod resources;
pub mod route;
pub mod route_kinds;
pub mod tls;
mod unserved;

pub use documents::{DocumentError, Parsed, parse_documents};
pub use memo::RouteMemo;
pub use output::{GatewaySnapshot, ObjectStatus, Output, Statuses, UnservedRouteStatus};
pub use references::{References, references};
pub use resources::Resources;

/// The `controllerName` Portico answers to.
pub const CONTROLLER_NAME: &str = "portico.dev/gateway-controller";

/// Settings that are not part of any object.
#[derive(Debug, Clone)]
pub struct Options {
    /// GatewayClasses with this `controllerName` are ours.
    pub controller_name: String,
    /// Address listeners bind to when a Gateway has no `spec.addresses`.
    pub default_address: String,
    /// Whether Gateways share data planes (standalone mode, or one data plane serving every
    /// Gateway). Then Gateways binding the same address and port share a socket and may
    /// conflict; with a data plane per Gateway (provisioning) they never do.
    pub shared_dataplanes: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            controller_name: CONTROLLER_NAME.to_string(),
            default_address: "0.0.0.0".to_string(),
            shared_dataplanes: true,
        }
    }
}

/// Translate `resources` into one snapshot per owned Gateway plus the status of every object
/// we are responsible for. Invalid objects produce status conditions, never errors.
pub fn translate(resources: &Resources, options: &Options) -> Output {
    translate_with(resources, options, &mut RouteMemo::default())
}

/// [`translate`], reusing routes `memo` compiled before whose inputs did not change, and
/// remembering this translation's for the next. The output is the same as [`translate`]'s.
pub fn translate_with(resources: &Resources, options: &Options, memo: &mut RouteMemo) -> Output {
    let index = resources::Index::new(resources);
    let mut statuses = Statuses::default();
    let classes = gateway::accept_classes(resources, options, &mut statuses);
    let gateways = gateway::accept_gateways(&index, &classes, options);
    let routes = route::attach_routes(&index, options, &gateways, memo);
    statuses.http_routes = routes.statuses;
    statuses.unserved_routes = unserved::refuse_unserved_routes(resources, options, &gateways);
    let mut output = Output {
        gateways: Vec::new(),
        statuses,
    };
    for gateway in gateways {
        let (snapshot, status) = gateway.finish(&routes.attachments);
        output.statuses.gateways.push(status);
        if let Some(snapshot) = snapshot {
            output.gateways.push(snapshot);
        }
    }
    output
}
