//! Layer-4 proxying for TCPRoutes, TLSRoutes and UDPRoutes: [`tcp`] serves TCP and TLS
//! sockets (passthrough by server name, or terminated), [`udp`] UDP sockets with a flow per
//! client; [`relay`] copies a stream both ways, [`dial`] connects to endpoints, and
//! [`settings`] holds their limits. They run under the same listener manager, snapshot swap,
//! drain and metrics as HTTP.

pub mod dial;
pub mod relay;
pub mod settings;
pub mod tcp;
pub mod udp;

pub use settings::StreamSettings;
