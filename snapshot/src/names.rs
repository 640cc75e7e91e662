//! Keys naming resources inside a snapshot.

use std::borrow::Borrow;

use serde::{Deserialize, Serialize};

/// `namespace/gateway/listener` (`namespace/gateway/set-namespace/set/listener` for a listener a
/// ListenerSet adds): names a listener, unique within a snapshot; data planes report listener
/// failures by it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ListenerKey(pub String);

/// `namespace/service:port`: names a cluster, unique within a snapshot; routes refer to
/// clusters by it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClusterName(pub String);

macro_rules! string_key {
    ($($name:ident),*) => {$(
        impl $name {
            /// The key as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl From<&str> for $name {
            fn from(key: &str) -> Self {
                Self(key.to_string())
            }
        }

        impl From<String> for $name {
            fn from(key: String) -> Self {
                Self(key)
            }
        }
    )*};
}

string_key!(ListenerKey, ClusterName);
