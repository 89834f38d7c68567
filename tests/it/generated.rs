//! completions/ and man/ are generated from the CLI definition; this test fails when the
//! committed copies are stale. `EKAS_BLESS=1 cargo test generated` rewrites them.

use crate::support::repo_root;

#[test]
fn generated_files_are_current() {
    let bless = std::env::var_os("EKAS_BLESS").is_some();
    let mut stale = Vec::new();
    for (path, contents) in ekas::generate::files() {
        let full = repo_root().join(&path);
        if bless {
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, &contents).unwrap();
        } else if std::fs::read(&full).ok().as_deref() != Some(&contents[..]) {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "stale generated files {stale:?}: run `EKAS_BLESS=1 cargo test generated` and commit them"
    );
    let man: Vec<_> = ekas::generate::files()
        .into_iter()
        .filter(|(p, _)| p.starts_with("man"))
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for page in [
        "ekas.1",
        "ekas-plan.1",
        "ekas-scale-up.1",
        "ekas-drain.1",
        "ekas-reap.1",
        "ekas-run.1",
        "ekas-snapshot.1",
        "ekas-simulate.1",
        "ekas-completions.1",
    ] {
        assert!(
            man.iter().any(|m| m == page),
            "no man page {page} in {man:?}"
        );
    }
}
