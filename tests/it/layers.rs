//! The workspace's layers: the core crate reaches no I/O library, and no module depends on
//! itself through others (scripts/check-module-cycles.py, which scripts/test.sh also runs).

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn check_cycles(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("python3")
        .arg(repo().join("scripts/check-module-cycles.py"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("python3 runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn no_module_depends_on_itself_through_others() {
    let (ok, report) = check_cycles(&[], repo());
    assert!(ok, "{report}");
}

#[test]
fn the_cycle_check_names_a_cycle_and_its_paths() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir_all(src.join("b")).unwrap();
    std::fs::write(src.join("lib.rs"), "pub mod a;\npub mod b;\npub mod c;\n").unwrap();
    std::fs::write(src.join("a.rs"), "use crate::b::Thing;\n").unwrap();
    // Through a group import and `super`, from a submodule.
    std::fs::write(src.join("b/mod.rs"), "pub mod inner;\npub struct Thing;\n").unwrap();
    std::fs::write(src.join("b/inner.rs"), "use super::super::{c, a::X};\n").unwrap();
    // A test module may use anything.
    std::fs::write(
        src.join("c.rs"),
        "pub fn f() {}\n#[cfg(test)]\nmod tests { use crate::a::X; }\n",
    )
    .unwrap();
    let (ok, report) = check_cycles(&["crate=src"], dir.path());
    assert!(!ok, "a cycle a -> b -> a passed: {report}");
    assert!(report.contains("cycle among crate::{a, b}"), "{report}");
    assert!(report.contains("a -> b: src/a.rs:1"), "{report}");

    std::fs::write(src.join("b/inner.rs"), "use super::super::c;\n").unwrap();
    let (ok, report) = check_cycles(&["crate=src"], dir.path());
    assert!(ok, "no cycle is left, yet: {report}");
}

/// Every package `ekas-core` builds with on this machine (normal dependencies, transitively).
fn core_dependencies() -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args([
            "tree",
            "-p",
            "ekas-core",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--locked", "--offline"])
        .current_dir(repo())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| *name != "ekas-core")
        .map(str::to_string)
        .collect()
}

#[test]
fn the_core_crate_reaches_no_runtime_cloud_or_cluster_client() {
    let deps = core_dependencies();
    assert!(deps.contains("jiff"), "the walk found nothing: {deps:?}");
    let io: Vec<&String> = deps
        .iter()
        .filter(|d| {
            ["tokio", "kube", "k8s-openapi", "hyper", "reqwest", "clap"].contains(&d.as_str())
                || d.starts_with("aws-")
        })
        .collect();
    assert!(io.is_empty(), "ekas-core depends on {io:?}");
}
