//! Helpers shared by the integration tests that run the real binary.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn idmaj(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_idmaj"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run idmaj")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub fn no_panic(out: &Output) {
    let err = text(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
        "panic: {err}"
    );
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            fs::copy(&p, &dest).unwrap();
        }
    }
}

/// A copy of a shipped scenario in `root/scenarios/NAME`, with the rules in `root/rules`,
/// so the scenario's `../../rules/*.rhai` paths hold. Returns the scenario folder.
pub fn shipped_copy(root: &Path, name: &str) -> PathBuf {
    copy_dir(&repo().join("rules"), &root.join("rules"));
    let dir = root.join("scenarios").join(name);
    copy_dir(&repo().join("scenarios").join(name), &dir);
    dir
}
