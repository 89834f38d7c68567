//! `ekas snapshot`: the live cluster written to a file; the Kubernetes half may come from
//! kubectl JSON files instead. The file holds the whole cluster's pods (their environment
//! included), so only its owner may read it.

use std::io::Write;
use std::path::Path;

use color_eyre::eyre::{Result, WrapErr, eyre};
use serde::de::DeserializeOwned;

use crate::decode::{self, DecodeOptions};
use crate::document::{ItemList, KubernetesPart};
use crate::settings::{KubectlFiles, SnapshotSettings};
use crate::source::live::{self, Live};

pub fn run(settings: &SnapshotSettings, out: &mut dyn Write) -> Result<()> {
    let mut doc = super::runtime()?.block_on(async {
        match &settings.kubectl {
            // Parts not given are empty, or for the optional ones (namespaces, storage) absent.
            Some(files) => live::document_with_kubernetes(&settings.live, read_files(files)?).await,
            None => Live::connect(&settings.live).await?.document().await,
        }
    })?;
    // A snapshot ekas writes must read back: check it builds before writing it.
    let options = DecodeOptions {
        price_file: settings.price_file.clone(),
        ..DecodeOptions::default()
    };
    let snapshot = decode::snapshot(&doc, &options).wrap_err("the snapshot read does not build")?;
    decode::record_prices(&mut doc, &snapshot, options.price_file.as_ref());
    drop(snapshot);
    // Serialised straight to the file or stream: a second copy of a large cluster, as text,
    // would double what the command holds.
    match &settings.out {
        Some(path) => write_private(path, |w| serde_json::to_writer_pretty(w, &doc))?,
        None => {
            let mut w = std::io::BufWriter::new(&mut *out);
            serde_json::to_writer_pretty(&mut w, &doc)?;
            writeln!(w)?;
            w.flush()?;
        }
    }
    Ok(())
}

fn read_files(files: &KubectlFiles) -> Result<KubernetesPart> {
    Ok(KubernetesPart {
        pods: read_list(files.pods.as_deref())?,
        nodes: read_list(files.nodes.as_deref())?,
        daemon_sets: read_list(files.daemonsets.as_deref())?,
        pod_disruption_budgets: read_list(files.pdbs.as_deref())?,
        namespaces: optional(files.namespaces.as_deref())?,
        pod_groups: optional(files.pod_groups.as_deref())?,
        provisioning_requests: optional(files.provisioning_requests.as_deref())?,
        pod_templates: optional(files.pod_templates.as_deref())?,
        ..KubernetesPart::default()
    }
    .with_storage(
        optional(files.pvcs.as_deref())?,
        optional(files.pvs.as_deref())?,
        optional(files.storage_classes.as_deref())?,
    ))
}

/// An optional part's kubectl `-o json` list file; none means the part is absent.
fn optional<T: DeserializeOwned>(path: Option<&Path>) -> Result<Option<ItemList<T>>> {
    path.map(|p| read_list(Some(p))).transpose()
}

/// Writes beside the target and renames, so a failure leaves no half-written file; the file is
/// created readable and writable by its owner only (0600), and keeps that over an older one.
fn write_private(
    path: &Path,
    contents: impl FnOnce(&mut std::io::BufWriter<&mut std::fs::File>) -> serde_json::Result<()>,
) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        open.mode(0o600);
        // A leftover temporary file keeps its mode when opened: set it again.
        if tmp.exists() {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
                .wrap_err_with(|| format!("cannot write {}", tmp.display()))?;
        }
    }
    let mut file = open
        .open(&tmp)
        .wrap_err_with(|| format!("cannot write {}", tmp.display()))?;
    let written = {
        let mut w = std::io::BufWriter::new(&mut file);
        contents(&mut w)
            .map_err(std::io::Error::from)
            .and_then(|()| w.flush())
    };
    written
        .and_then(|()| file.sync_all())
        .wrap_err_with(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).wrap_err_with(|| format!("cannot write {}", path.display()))
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
