//! `ekas snapshot`: the live cluster written to a file; the Kubernetes half may come from
//! kubectl JSON files instead.

use std::io::Write;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::de::DeserializeOwned;

use crate::cli::{GlobalOptions, SnapshotArgs};
use crate::source::build;
use crate::source::document::{ItemList, KubernetesPart};

pub fn run(g: &GlobalOptions, args: &SnapshotArgs, out: &mut dyn Write) -> Result<()> {
    let files = [
        &args.pods,
        &args.nodes,
        &args.daemonsets,
        &args.pdbs,
        &args.namespaces,
        &args.pvcs,
    ];
    // Any kubectl file replaces the live Kubernetes read; parts not given are empty, or for the
    // optional ones (namespaces, storage) absent.
    let kubernetes = if files.iter().any(|f| f.is_some()) {
        Some(
            KubernetesPart {
                pods: read_list(args.pods.as_deref())?,
                nodes: read_list(args.nodes.as_deref())?,
                daemon_sets: read_list(args.daemonsets.as_deref())?,
                pod_disruption_budgets: read_list(args.pdbs.as_deref())?,
                namespaces: optional(&args.namespaces)?,
                ..KubernetesPart::default()
            }
            .with_storage(
                optional(&args.pvcs)?,
                optional(&args.pvs)?,
                optional(&args.storage_classes)?,
            ),
        )
    } else {
        None
    };
    let doc = super::runtime()?.block_on(super::live_document(g, kubernetes))?;
    // A snapshot ekas writes must read back: check it builds before writing it.
    build::snapshot(&doc, &super::build_options(g)).wrap_err("the snapshot read does not build")?;
    let json = serde_json::to_vec_pretty(&doc)?;
    match &args.out {
        Some(path) => {
            // Write beside the target and rename, so a failure leaves no half-written file.
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, &json)
                .wrap_err_with(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .wrap_err_with(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            out.write_all(&json)?;
            writeln!(out)?;
        }
    }
    Ok(())
}

/// An optional part's kubectl `-o json` list file; none means the part is absent.
fn optional<T: DeserializeOwned>(path: &Option<std::path::PathBuf>) -> Result<Option<ItemList<T>>> {
    path.as_deref().map(|p| read_list(Some(p))).transpose()
}

/// A kubectl `-o json` list file; none means an empty list.
fn read_list<T: DeserializeOwned>(path: Option<&Path>) -> Result<ItemList<T>> {
    let Some(path) = path else {
        return Ok(ItemList::default());
    };
    let bytes = std::fs::read(path).wrap_err_with(|| format!("cannot read {}", path.display()))?;
    let de = &mut serde_json::Deserializer::from_slice(&bytes);
    serde_path_to_error::deserialize(de)
        .map_err(|e| eyre!("{}: at {}: {}", path.display(), e.path(), e.inner()))
}
