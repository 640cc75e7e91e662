//! What a migration tells its user, per Ingress and per rule or annotation: translated,
//! approximated (with how the result differs), or not possible (with why). Nothing an Ingress
//! asks for is dropped without a finding.

use std::fmt;

use portico_snapshot::ObjectRef;

/// How one thing an Ingress asks for was carried over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The generated objects do exactly this.
    Translated,
    /// The generated objects do nearly this; the text says how they differ.
    Approximated(String),
    /// Gateway API (or Portico) has no way to do this; the text says why.
    NotPossible(String),
}

/// One finding about one Ingress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The Ingress.
    pub ingress: ObjectRef,
    /// What it is about: an annotation's name, or a part of the spec (`rules`, `tls`,
    /// `defaultBackend`).
    pub subject: String,
    /// How it was carried over.
    pub outcome: Outcome,
}

impl Finding {
    /// A finding about `subject` of `ingress`.
    pub fn new(ingress: &ObjectRef, subject: impl Into<String>, outcome: Outcome) -> Self {
        Self {
            ingress: ingress.clone(),
            subject: subject.into(),
            outcome,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            ingress,
            subject,
            outcome,
        } = self;
        match outcome {
            Outcome::Translated => write!(f, "{ingress}: {subject}: translated"),
            Outcome::Approximated(how) => write!(f, "{ingress}: {subject}: approximated: {how}"),
            Outcome::NotPossible(why) => write!(f, "{ingress}: {subject}: not translated: {why}"),
        }
    }
}
