//! Header modifiers carried out on Pingora's request and response headers: set replaces,
//! add appends, remove deletes, in the order the rule (then its backendRef) lists them.

use pingora_http::{RequestHeader, ResponseHeader};
use portico_router::rule::CompiledHeaderModifier;

/// Apply header modifiers, in order, to a request or response header.
pub fn edit_headers<'a, H: HeaderEdits>(
    modifiers: impl IntoIterator<Item = &'a CompiledHeaderModifier>,
    header: &mut H,
) {
    for modifier in modifiers {
        for (name, value) in &modifier.set {
            header.set(name, value);
        }
        for (name, value) in &modifier.add {
            header.add(name, value);
        }
        for name in &modifier.remove {
            header.remove(name);
        }
    }
}

/// The header operations Pingora's request and response headers both have.
pub trait HeaderEdits {
    fn set(&mut self, name: &http::HeaderName, value: &http::HeaderValue);
    fn add(&mut self, name: &http::HeaderName, value: &http::HeaderValue);
    fn remove(&mut self, name: &http::HeaderName);
}

macro_rules! header_edits {
    ($header:ty) => {
        impl HeaderEdits for $header {
            fn set(&mut self, name: &http::HeaderName, value: &http::HeaderValue) {
                // Names and values were checked when the table was built; these cannot fail.
                let _ = self.insert_header(name.clone(), value.clone());
            }
            fn add(&mut self, name: &http::HeaderName, value: &http::HeaderValue) {
                let _ = self.append_header(name.clone(), value.clone());
            }
            fn remove(&mut self, name: &http::HeaderName) {
                self.remove_header(name);
            }
        }
    };
}

header_edits!(RequestHeader);
header_edits!(ResponseHeader);
