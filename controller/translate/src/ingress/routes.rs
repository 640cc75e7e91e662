//! An Ingress's rules as HTTPRoutes: one per host (in the Ingress's namespace), a rule per
//! path, attached to the HTTPS listener of a TLS host and to the `http` listener, where a TLS
//! host's requests are redirected to HTTPS unless `ssl-redirect: "false"`. The Ingress's
//! annotations ([`super::annotations`]) shape matches and filters. A host and path an older
//! Ingress already serves is left to it, as ingress-nginx does.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::networking::v1::{HTTPIngressPath, Ingress, IngressBackend};
use kube::ResourceExt;

use super::annotations::{self, Annotations, Plan};
use super::gateway::{HTTP_LISTENER, Listeners};
use super::output::{
    BackendRef, Filter, HttpRoute, HttpRouteSpec, Match, Metadata, ParentRef, PathKind, PathMatch,
    PathModifier, Redirect, Rewrite, Rule,
};
use super::report::{Finding, Outcome};
use super::{MigrationOptions, ingress_ref};
use crate::names::namespace_of;
use crate::resources::Index;

/// Annotation recording which Ingress a route was made from.
const SOURCE_ANNOTATION: &str = "portico.dev/migrated-from";

/// Every Ingress's HTTPRoutes (`ingresses` oldest first).
pub fn routes(
    index: &Index<'_>,
    ingresses: &[&Ingress],
    listeners: &Listeners,
    options: &MigrationOptions,
    findings: &mut Vec<Finding>,
) -> Vec<HttpRoute> {
    let mut claimed: HashMap<(Option<String>, PathKind, String), String> = HashMap::new();
    let mut routes = Vec::new();
    for ingress in ingresses {
        let source = ingress_ref(ingress);
        let (plan, notes) = annotations::plan(&Annotations::of(Some(ingress.annotations())));
        for (subject, outcome) in notes {
            findings.push(Finding::new(&source, subject, outcome));
        }
        let builder = Builder {
            index,
            ingress,
            plan: &plan,
            listeners,
            options,
        };
        for (host, paths) in builder.hosts() {
            let mut rules = Vec::new();
            if let Some(root) = &plan.app_root {
                rules.push(app_root_rule(root));
            }
            for path in paths {
                match builder.rule(path) {
                    Ok(rule) => {
                        let key = (
                            host.clone(),
                            rule.matches[0].path.kind,
                            rule.matches[0].path.value.clone(),
                        );
                        if let Some(owner) = claimed.get(&key) {
                            findings.push(Finding::new(
                                &source,
                                "rules",
                                Outcome::Approximated(format!(
                                    "{} path {} is served by the older Ingress {owner}, as \
                                     ingress-nginx would; left out here",
                                    host.as_deref().unwrap_or("any host"),
                                    key.2
                                )),
                            ));
                            continue;
                        }
                        claimed.insert(key, source.to_string());
                        rules.push(rule);
                    }
                    Err(why) => {
                        findings.push(Finding::new(&source, "rules", Outcome::NotPossible(why)))
                    }
                }
            }
            if rules.is_empty() {
                continue;
            }
            routes.extend(builder.host_routes(host.as_deref(), rules));
        }
        if let Some(default) = ingress
            .spec
            .as_ref()
            .and_then(|s| s.default_backend.as_ref())
        {
            let key = (None, PathKind::PathPrefix, "/".to_string());
            match (claimed.get(&key), builder.backend(default)) {
                (Some(owner), _) => findings.push(Finding::new(
                    &source,
                    "defaultBackend",
                    Outcome::Approximated(format!(
                        "the older Ingress {owner} already provides the default backend"
                    )),
                )),
                (None, Err(why)) => findings.push(Finding::new(
                    &source,
                    "defaultBackend",
                    Outcome::NotPossible(why),
                )),
                (None, Ok(backend)) => {
                    claimed.insert(key, source.to_string());
                    let rule = Rule {
                        matches: vec![prefix_match("/")],
                        filters: Vec::new(),
                        backend_refs: vec![backend],
                    };
                    routes.push(builder.route(
                        "default-backend",
                        None,
                        builder.parents(None),
                        vec![rule],
                    ));
                    findings.push(Finding::new(
                        &source,
                        "defaultBackend",
                        Outcome::Approximated(
                            "serves every request no other route of the Gateway matches, on \
                             any host (ingress-nginx's default backend is per server as well)"
                                .into(),
                        ),
                    ));
                }
            }
        }
    }
    routes
}

/// Builds one Ingress's routes.
struct Builder<'b> {
    index: &'b Index<'b>,
    ingress: &'b Ingress,
    plan: &'b Plan,
    listeners: &'b Listeners,
    options: &'b MigrationOptions,
}

impl Builder<'_> {
    /// The Ingress's paths by host (`None`: any host), hosts in the order written.
    fn hosts(&self) -> Vec<(Option<String>, Vec<&HTTPIngressPath>)> {
        let mut hosts: Vec<(Option<String>, Vec<&HTTPIngressPath>)> = Vec::new();
        let rules = self.ingress.spec.as_ref().and_then(|s| s.rules.as_ref());
        for rule in rules.into_iter().flatten() {
            let host = rule.host.clone().filter(|h| !h.is_empty());
            let paths = rule.http.iter().flat_map(|h| &h.paths);
            match hosts.iter_mut().find(|(h, _)| *h == host) {
                Some((_, existing)) => existing.extend(paths),
                None => hosts.push((host, paths.collect())),
            }
        }
        hosts
    }

    /// The rule for one Ingress path; the error says why there is none.
    fn rule(&self, path: &HTTPIngressPath) -> Result<Rule, String> {
        let value = path.path.clone().unwrap_or_else(|| "/".to_string());
        if let Some(redirect) = &self.plan.redirect {
            let matched = self.path_match(&path.path_type, &value);
            return Ok(Rule {
                matches: vec![Match { path: matched }],
                filters: vec![Filter::RequestRedirect {
                    redirect: redirect.clone(),
                }],
                backend_refs: Vec::new(),
            });
        }
        let (matched, path_rewrite) = match &self.plan.rewrite_target {
            Some(target) => {
                let (matched, modifier) = annotations::rewrite_target::rewrite(&value, target)?;
                (matched, Some(modifier))
            }
            None => (self.path_match(&path.path_type, &value), None),
        };
        let rewrite = Rewrite {
            hostname: self.plan.rewrite.hostname.clone(),
            path: path_rewrite,
        };
        let filters = if rewrite == Rewrite::default() {
            Vec::new()
        } else {
            vec![Filter::UrlRewrite { rewrite }]
        };
        Ok(Rule {
            matches: vec![Match { path: matched }],
            filters,
            backend_refs: vec![self.backend(&path.backend)?],
        })
    }

    /// How a path of `path_type` is matched, as ingress-nginx matches it.
    fn path_match(&self, path_type: &str, value: &str) -> PathMatch {
        match path_type {
            "Exact" => PathMatch {
                kind: PathKind::Exact,
                value: value.to_string(),
            },
            _ if self.plan.regex_paths => PathMatch {
                kind: PathKind::RegularExpression,
                value: annotations::use_regex::whole_path_expression(value),
            },
            // `Prefix`, and `ImplementationSpecific`, which ingress-nginx treats as a prefix.
            _ => prefix_match(value).path,
        }
    }

    /// The backendRef of an Ingress backend: a Service port by number (a named port is looked
    /// up in the Service).
    fn backend(&self, backend: &IngressBackend) -> Result<BackendRef, String> {
        let service = backend.service.as_ref().ok_or_else(|| {
            "a resource backend has no Gateway API equivalent; only Services are carried over"
                .to_string()
        })?;
        let port = service.port.as_ref();
        let number = match (
            port.and_then(|p| p.number),
            port.and_then(|p| p.name.as_deref()),
        ) {
            (Some(number), _) => number,
            (None, Some(name)) => self.named_port(&service.name, name)?,
            (None, None) => return Err(format!("backend Service {} names no port", service.name)),
        };
        Ok(BackendRef {
            name: service.name.clone(),
            port: number,
        })
    }

    fn named_port(&self, service: &str, name: &str) -> Result<i32, String> {
        let namespace = namespace_of(self.ingress);
        self.index
            .service(&namespace, service)
            .and_then(|s| s.spec.as_ref()?.ports.as_ref())
            .and_then(|ports| ports.iter().find(|p| p.name.as_deref() == Some(name)))
            .map(|p| p.port)
            .ok_or_else(|| {
                format!(
                    "port {name:?} of Service {namespace}/{service} is unknown (give the Service \
                     to portico migrate, or use a port number)"
                )
            })
    }

    /// The listeners a host's content is served on: its HTTPS listener, and `http` unless
    /// plain-HTTP requests are redirected there.
    fn parents(&self, host: Option<&str>) -> Vec<ParentRef> {
        let https = self.listeners.https_for(host);
        let mut parents: Vec<ParentRef> = https.map(|l| self.parent(&l.name)).into_iter().collect();
        if !self.redirects_to_https(host) {
            parents.push(self.parent(HTTP_LISTENER));
        }
        parents
    }

    /// Whether plain-HTTP requests for `host` are redirected to HTTPS.
    fn redirects_to_https(&self, host: Option<&str>) -> bool {
        let has_tls = self.listeners.https_for(host).is_some();
        self.plan.force_ssl_redirect || (has_tls && self.plan.ssl_redirect != Some(false))
    }

    fn parent(&self, section: &str) -> ParentRef {
        ParentRef {
            name: self.options.gateway.name.clone(),
            namespace: self.options.gateway.namespace.clone(),
            section_name: section.to_string(),
        }
    }

    /// The routes of one host: its content, and the HTTPS redirect on `http` if it has one.
    fn host_routes(&self, host: Option<&str>, rules: Vec<Rule>) -> Vec<HttpRoute> {
        let suffix = host.map(|h| h.replace('*', "wildcard"));
        let mut routes = vec![self.route(
            suffix.as_deref().unwrap_or("any-host"),
            host,
            self.parents(host),
            rules,
        )];
        if self.redirects_to_https(host) {
            let redirect = Rule {
                matches: vec![prefix_match("/")],
                filters: vec![Filter::RequestRedirect {
                    redirect: Redirect {
                        scheme: Some("https"),
                        status_code: 308,
                        ..Redirect::default()
                    },
                }],
                backend_refs: Vec::new(),
            };
            let name = format!("{}-https-redirect", suffix.as_deref().unwrap_or("any-host"));
            routes.push(self.route(
                &name,
                host,
                vec![self.parent(HTTP_LISTENER)],
                vec![redirect],
            ));
        }
        routes
    }

    fn route(
        &self,
        suffix: &str,
        host: Option<&str>,
        parent_refs: Vec<ParentRef>,
        rules: Vec<Rule>,
    ) -> HttpRoute {
        let metadata = Metadata {
            name: format!("{}-{suffix}", self.ingress.name_any()),
            namespace: namespace_of(self.ingress),
            annotations: BTreeMap::from([(
                SOURCE_ANNOTATION.to_string(),
                format!("Ingress {}", ingress_ref(self.ingress)),
            )]),
        };
        let spec = HttpRouteSpec {
            parent_refs,
            hostnames: host.map(str::to_string).into_iter().collect(),
            rules,
        };
        HttpRoute::new(metadata, spec)
    }
}

fn prefix_match(value: &str) -> Match {
    Match {
        path: PathMatch {
            kind: PathKind::PathPrefix,
            value: value.to_string(),
        },
    }
}

/// `app-root`: `/` exactly is redirected (302) to the root path.
fn app_root_rule(root: &str) -> Rule {
    Rule {
        matches: vec![Match {
            path: PathMatch {
                kind: PathKind::Exact,
                value: "/".to_string(),
            },
        }],
        filters: vec![Filter::RequestRedirect {
            redirect: Redirect {
                path: Some(PathModifier::ReplaceFullPath {
                    path: root.to_string(),
                }),
                status_code: 302,
                ..Redirect::default()
            },
        }],
        backend_refs: Vec::new(),
    }
}
