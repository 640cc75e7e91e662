//! An Ingress's rules as HTTPRoutes: one per host (in the Ingress's namespace), a rule per
//! path, attached to the HTTPS listener of a TLS host and to the `http` listener, where a TLS
//! host's requests are redirected to HTTPS unless `ssl-redirect: "false"`. The Ingress's
//! annotations ([`super::annotations`]) shape matches and filters. A host and path an older
//! Ingress already serves is left to it, as ingress-nginx does; a canary Ingress's paths are
//! merged into the main Ingress's rules instead.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::networking::v1::{HTTPIngressPath, Ingress, IngressBackend};
use kube::ResourceExt;

use super::annotations::{self, Annotations, Plan, from_to_www};
use super::gateway::{HTTP_LISTENER, Listeners};
use super::output::{
    BackendRef, Filter, HeaderModifier, HttpRoute, HttpRouteSpec, Match, Metadata, ParentRef,
    PathKind, PathMatch, PathModifier, Redirect, Rewrite, Rule,
};
use super::report::{Finding, Outcome};
use super::{MigrationOptions, ingress_ref};
use crate::names::namespace_of;
use crate::resources::Index;

mod canary;

/// Annotation recording which Ingress a route was made from.
const SOURCE_ANNOTATION: &str = "portico.dev/migrated-from";

/// A host and path, as a route matches it: two Ingresses claiming one are in conflict (or one
/// is the other's canary).
type PathKey = (Option<String>, PathKind, String);

/// Where the rule serving a [`PathKey`] is, and whose it is.
struct Claim {
    owner: String,
    route: usize,
    rule: usize,
}

/// Every Ingress's HTTPRoutes (`ingresses` oldest first); canary Ingresses are merged into the
/// routes of the main Ingress they share a host and path with.
pub fn routes(
    index: &Index<'_>,
    ingresses: &[&Ingress],
    listeners: &Listeners,
    options: &MigrationOptions,
    findings: &mut Vec<Finding>,
) -> Vec<HttpRoute> {
    let mut planned = Vec::new();
    for ingress in ingresses {
        let (plan, notes) = annotations::plan(&Annotations::of(Some(ingress.annotations())));
        for (subject, outcome) in notes {
            findings.push(Finding::new(&ingress_ref(ingress), subject, outcome));
        }
        planned.push((*ingress, plan));
    }
    let mut claimed: HashMap<PathKey, Claim> = HashMap::new();
    let mut routes = Vec::new();
    let (canaries, mains): (Vec<_>, Vec<_>) =
        planned.iter().partition(|(_, plan)| plan.canary.is_some());
    for (ingress, plan) in mains {
        let builder = Builder {
            index,
            ingress,
            plan,
            listeners,
            options,
        };
        builder.add_main(&mut routes, &mut claimed, findings);
    }
    for (ingress, plan) in canaries {
        let builder = Builder {
            index,
            ingress,
            plan,
            listeners,
            options,
        };
        builder.merge_canary(&mut routes, &claimed, findings);
    }
    unique_names(&mut routes);
    routes
}

/// The longest object name Kubernetes accepts.
const MAX_NAME: usize = 253;

/// Make every route's name unique in its namespace (`kubectl apply` would otherwise let one
/// replace another: Ingress `shop` with host `api.example.com` and Ingress `shop-api` with
/// host `example.com` both make `shop-api.example.com`) and short enough: a later route of a
/// taken name gets `-2`, `-3`...
fn unique_names(routes: &mut [HttpRoute]) {
    let mut taken: HashMap<(String, String), usize> = HashMap::new();
    for route in routes {
        let metadata = &mut route.metadata;
        let mut base = metadata.name.clone();
        // Names are ASCII (hosts and Ingress names), so any byte is a boundary.
        base.truncate(MAX_NAME - 8);
        let key = (metadata.namespace.clone(), base.clone());
        let seen = taken.entry(key).or_insert(0);
        *seen += 1;
        metadata.name = match *seen {
            1 => base,
            n => format!("{base}-{n}"),
        };
    }
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
    /// Add the routes of a main (not canary) Ingress, claiming its hosts and paths; a path an
    /// older Ingress claimed is left to it.
    fn add_main(
        &self,
        routes: &mut Vec<HttpRoute>,
        claimed: &mut HashMap<PathKey, Claim>,
        findings: &mut Vec<Finding>,
    ) {
        let source = ingress_ref(self.ingress);
        for (host, paths) in self.hosts() {
            let mut rules = Vec::new();
            let mut keys = Vec::new();
            if let Some(root) = &self.plan.app_root {
                rules.push(app_root_rule(root));
            }
            for path in paths {
                let rule = match self.rule(path) {
                    Ok(rule) => rule,
                    Err(why) => {
                        findings.push(Finding::new(&source, "rules", Outcome::NotPossible(why)));
                        continue;
                    }
                };
                let key = path_key(&host, &rule);
                if let Some(claim) = claimed.get(&key) {
                    findings.push(Finding::new(
                        &source,
                        "rules",
                        Outcome::Approximated(format!(
                            "{} path {} is served by the older Ingress {}, as ingress-nginx \
                             would; left out here",
                            host.as_deref().unwrap_or("any host"),
                            key.2,
                            claim.owner
                        )),
                    ));
                    continue;
                }
                keys.push((key, rules.len()));
                rules.push(rule);
            }
            if rules.len() == usize::from(self.plan.app_root.is_some()) {
                continue;
            }
            if self.plan.force_ssl_redirect && self.listeners.https_for(host.as_deref()).is_none() {
                findings.push(Finding::new(
                    &source,
                    "force-ssl-redirect",
                    Outcome::NotPossible(format!(
                        "{} has no TLS certificate here, so no HTTPS listener to redirect to; \
                         it is served on HTTP",
                        host.as_deref().unwrap_or("any host")
                    )),
                ));
            }
            let route = routes.len();
            for (key, rule) in keys {
                let owner = source.to_string();
                claimed.insert(key, Claim { owner, route, rule });
            }
            routes.extend(self.host_routes(host.as_deref(), rules));
        }
        self.add_default_backend(routes, claimed, findings);
    }

    /// An Ingress's `defaultBackend`, unless an older Ingress provides one.
    fn add_default_backend(
        &self,
        routes: &mut Vec<HttpRoute>,
        claimed: &mut HashMap<PathKey, Claim>,
        findings: &mut Vec<Finding>,
    ) {
        let source = ingress_ref(self.ingress);
        let spec = self.ingress.spec.as_ref();
        let Some(default) = spec.and_then(|s| s.default_backend.as_ref()) else {
            return;
        };
        let key = (None, PathKind::PathPrefix, "/".to_string());
        let outcome = match (claimed.get(&key), self.backend(default)) {
            (Some(claim), _) => Outcome::Approximated(format!(
                "the older Ingress {} already provides the default backend",
                claim.owner
            )),
            (None, Err(why)) => Outcome::NotPossible(why),
            (None, Ok(backend)) => {
                let rule = Rule {
                    matches: vec![prefix_match("/")],
                    filters: Vec::new(),
                    backend_refs: vec![backend],
                    timeouts: None,
                };
                let owner = source.to_string();
                claimed.insert(
                    key,
                    Claim {
                        owner,
                        route: routes.len(),
                        rule: 0,
                    },
                );
                // Unmatched requests on every listener, HTTPS ones included.
                let parents = std::iter::once(self.parent(HTTP_LISTENER))
                    .chain(self.listeners.all_https().map(|l| self.parent(&l.name)))
                    .collect();
                routes.push(self.route("default-backend", None, parents, vec![rule]));
                Outcome::Approximated(
                    "serves every request no other route of the Gateway matches, on any host \
                     (ingress-nginx's default backend is per server as well)"
                        .into(),
                )
            }
        };
        findings.push(Finding::new(&source, "defaultBackend", outcome));
    }

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
                matches: vec![Match::on(matched)],
                filters: vec![Filter::RequestRedirect {
                    redirect: redirect.clone(),
                }],
                backend_refs: Vec::new(),
                timeouts: None,
            });
        }
        let (matched, path_rewrite) = match &self.plan.rewrite_target {
            Some(target) => {
                let (matched, modifier) = annotations::rewrite_target::rewrite(&value, target)?;
                (matched, Some(modifier))
            }
            None => (self.path_match(&path.path_type, &value), None),
        };
        if matched.kind == PathKind::RegularExpression
            && let Err(problem) = crate::http_matches::regex(&matched.value)
        {
            return Err(format!(
                "path {value:?} is not a regular expression Portico accepts: {}",
                problem.message
            ));
        }
        let rewrite = Rewrite {
            hostname: self.plan.rewrite.hostname.clone(),
            path: path_rewrite,
        };
        let mut filters = Vec::new();
        if let Some(cors) = &self.plan.cors {
            filters.push(Filter::Cors { cors: cors.clone() });
        }
        if !self.plan.request_headers.is_empty() {
            filters.push(Filter::RequestHeaderModifier {
                modifier: HeaderModifier {
                    set: self.plan.request_headers.clone(),
                },
            });
        }
        if rewrite != Rewrite::default() {
            filters.push(Filter::UrlRewrite { rewrite });
        }
        Ok(Rule {
            matches: vec![Match::on(matched)],
            filters,
            backend_refs: vec![self.backend(&path.backend)?],
            timeouts: self.plan.timeouts.clone(),
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
            weight: None,
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

    /// Whether plain-HTTP requests for `host` are redirected to HTTPS: only where an HTTPS
    /// listener serves it (`force-ssl-redirect` on a host without one is reported instead).
    fn redirects_to_https(&self, host: Option<&str>) -> bool {
        let has_tls = self.listeners.https_for(host).is_some();
        has_tls && (self.plan.force_ssl_redirect || self.plan.ssl_redirect != Some(false))
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
                timeouts: None,
            };
            let name = format!("{}-https-redirect", suffix.as_deref().unwrap_or("any-host"));
            routes.push(self.route(
                &name,
                host,
                vec![self.parent(HTTP_LISTENER)],
                vec![redirect],
            ));
        }
        let www = host.filter(|_| self.plan.from_to_www);
        if let Some((host, other)) = www.and_then(|h| Some((h, from_to_www::other_host(h)?))) {
            routes.push(self.www_redirect(host, &other));
        }
        routes
    }

    /// `from-to-www-redirect`: `other` redirected (308) to `host`, on `http` and on an HTTPS
    /// listener for `other` if the Gateway has one.
    fn www_redirect(&self, host: &str, other: &str) -> HttpRoute {
        let redirect = Rule {
            matches: vec![prefix_match("/")],
            filters: vec![Filter::RequestRedirect {
                redirect: Redirect {
                    hostname: Some(host.to_string()),
                    status_code: 308,
                    ..Redirect::default()
                },
            }],
            backend_refs: Vec::new(),
            timeouts: None,
        };
        let https = self.listeners.https_for(Some(other));
        let parents = std::iter::once(self.parent(HTTP_LISTENER))
            .chain(https.map(|l| self.parent(&l.name)))
            .collect();
        let name = format!("{other}-www-redirect");
        self.route(&name, Some(other), parents, vec![redirect])
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

/// The host and path a rule of `host` serves.
fn path_key(host: &Option<String>, rule: &Rule) -> PathKey {
    let path = &rule.matches[0].path;
    (host.clone(), path.kind, path.value.clone())
}

fn prefix_match(value: &str) -> Match {
    Match::on(PathMatch {
        kind: PathKind::PathPrefix,
        value: value.to_string(),
    })
}

/// `app-root`: `/` exactly is redirected (302) to the root path.
fn app_root_rule(root: &str) -> Rule {
    Rule {
        matches: vec![Match::on(PathMatch {
            kind: PathKind::Exact,
            value: "/".to_string(),
        })],
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
        timeouts: None,
    }
}
