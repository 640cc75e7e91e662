//! `portico migrate`: Ingresses in, Gateway API objects out. Reads Ingresses (and the
//! Services and IngressClasses beside them) from files or standard input, prints one Gateway,
//! its HTTPRoutes and ReferenceGrants as YAML on standard output, ready for `kubectl apply -f
//! -`, and the report (what was translated, approximated or could not be, per Ingress) on
//! standard error. The translation itself is `portico_translate::ingress`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use portico_snapshot::ObjectRef;
use portico_translate::ingress::{MigrationOptions, Outcome, migrate};
use portico_translate::{Parsed, parse_documents};

/// Options of `portico migrate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A YAML file of Ingresses (and the Services they name); `-` reads standard input.
    /// Repeat for several.
    #[arg(short = 'f', long = "filename", required = true)]
    files: Vec<PathBuf>,
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
    let mut parsed = Parsed::default();
    for file in &args.files {
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
    if parsed.resources.ingresses.is_empty() {
        bail!("no Ingress found in the input");
    }
    let options = MigrationOptions {
        gateway_class: args.gateway_class,
        gateway: ObjectRef {
            namespace: args.gateway_namespace,
            name: args.gateway_name,
        },
        ingress_class: args.ingress_class,
    };
    let migration = migrate(&parsed.resources, &options);
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
