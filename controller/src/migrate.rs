//! `portico migrate`: Ingresses in, Gateway API objects out. Reads Ingresses (and the
//! Services and IngressClasses beside them) from files or standard input, or from a cluster
//! (`--kubeconfig`, `-n`/`-A`, as kubectl reads them), prints one Gateway,
//! its HTTPRoutes and ReferenceGrants as YAML on standard output, ready for `kubectl apply -f
//! -`, and the report (what was translated, approximated or could not be, per Ingress) on
//! standard error. The translation itself is `portico_translate::ingress`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::networking::v1::{Ingress, IngressClass};
use kube::Api;
use kube::api::ListParams;
use portico_snapshot::ObjectRef;
use portico_translate::ingress::{MigrationOptions, Outcome, migrate};
use portico_translate::{Parsed, Resources, parse_documents};

/// Options of `portico migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A YAML file of Ingresses (and the Services they name); `-` reads standard input.
    /// Repeat for several. Without it, Ingresses are read from the cluster.
    #[arg(short = 'f', long = "filename")]
    files: Vec<PathBuf>,
    /// Kubeconfig of the cluster to read Ingresses from (default: `KUBECONFIG`, then
    /// `~/.kube/config`, then the in-cluster account).
    #[arg(long, conflicts_with = "files")]
    kubeconfig: Option<PathBuf>,
    /// Read the Ingresses of this namespace only (default: `default`).
    #[arg(short = 'n', long, conflicts_with_all = ["files", "all_namespaces"])]
    namespace: Option<String>,
    /// Read the Ingresses of every namespace.
    #[arg(short = 'A', long, conflicts_with = "files")]
    all_namespaces: bool,
    /// GatewayClass of the generated Gateway.
    #[arg(long, default_value = "portico")]
    gateway_class: String,
    /// Name of the one Gateway every Ingress's routes attach to.
    #[arg(long, default_value = "ingress")]
    gateway_name: String,
    /// Namespace of that Gateway.
    #[arg(long, default_value = "default")]
    gateway_namespace: String,
    /// Only Ingresses of this class (`spec.ingressClassName` or the
    /// `kubernetes.io/ingress.class` annotation).
    #[arg(long)]
    ingress_class: Option<String>,
}

/// Run the migration; the report goes to standard error.
pub fn run(args: Args) -> anyhow::Result<()> {
    let resources = if args.files.is_empty() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?;
        let namespace = (!args.all_namespaces).then(|| {
            args.namespace
                .clone()
                .unwrap_or_else(|| "default".to_string())
        });
        runtime.block_on(from_cluster(
            args.kubeconfig.as_deref(),
            namespace.as_deref(),
        ))?
    } else {
        from_files(&args.files)?
    };
    if resources.ingresses.is_empty() {
        bail!("no Ingress found");
    }
    let options = MigrationOptions {
        gateway_class: args.gateway_class,
        gateway: ObjectRef {
            namespace: args.gateway_namespace,
            name: args.gateway_name,
        },
        ingress_class: args.ingress_class,
    };
    let migration = migrate(&resources, &options);
    print!("{}", migration.to_yaml().context("writing YAML")?);
    let not_possible = migration
        .findings
        .iter()
        .filter(|f| matches!(f.outcome, Outcome::NotPossible(_)))
        .count();
    for finding in &migration.findings {
        eprintln!("{finding}");
    }
    eprintln!(
        "{} HTTPRoute(s) for one Gateway; {} finding(s), {not_possible} not translated",
        migration.routes.len(),
        migration.findings.len()
    );
    Ok(())
}

/// Ingresses, Services and IngressClasses of `namespace` (every one when `None`).
async fn from_cluster(
    kubeconfig: Option<&std::path::Path>,
    namespace: Option<&str>,
) -> anyhow::Result<Resources> {
    let client = crate::kubernetes::client(kubeconfig).await?;
    let params = ListParams::default();
    let ingresses: Api<Ingress> = scoped(&client, namespace);
    let services: Api<Service> = scoped(&client, namespace);
    let classes: Api<IngressClass> = Api::all(client.clone());
    Ok(Resources {
        ingresses: ingresses
            .list(&params)
            .await
            .context("listing Ingresses")?
            .items,
        services: services
            .list(&params)
            .await
            .context("listing Services")?
            .items,
        ingress_classes: classes
            .list(&params)
            .await
            .context("listing IngressClasses")?
            .items,
        ..Resources::default()
    })
}

fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(namespace) => Api::namespaced(client.clone(), namespace),
        None => Api::all(client.clone()),
    }
}

/// The objects of `files` (`-` is standard input); unreadable documents are an error.
fn from_files(files: &[PathBuf]) -> anyhow::Result<Resources> {
    let mut parsed = Parsed::default();
    for file in files {
        let text = if file.as_os_str() == "-" {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("reading standard input")?;
            text
        } else {
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
        };
        parse_documents(&text, &mut parsed);
    }
    for warning in &parsed.warnings {
        eprintln!("warning: {warning}");
    }
    if !parsed.errors.is_empty() {
        for error in &parsed.errors {
            eprintln!("error: {error}");
        }
        bail!("{} document(s) could not be read", parsed.errors.len());
    }
    Ok(parsed.resources)
}
