//! What the integration tests share: the binary with a clean environment, its JSON report,
//! and the fixtures' paths. Each test file is a crate of its own and uses part of this.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// A fixture by its path under `fixtures/`.
pub fn fixture(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(path)
}

/// The binary, without the caller's `NO_COLOR` and `COLUMNS`.
pub fn why409() -> Command {
    let mut c = Command::cargo_bin("why409").unwrap();
    c.env_remove("NO_COLOR").env_remove("COLUMNS");
    c
}

/// The JSON report of `cmd`, which must succeed (the command and its stderr are shown when
/// it does not).
pub fn report(cmd: &mut Command) -> Value {
    let out = cmd.args(["--output", "json"]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The JSON report of `why409 ARGS...`.
pub fn json(args: &[&str]) -> Value {
    report(why409().args(args))
}

/// xorshift64*: deterministic, so a test that damages or mutates inputs at random fails the
/// same way every time.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// `text` gzipped at the fastest level (as logrotate's `compress` leaves it, give or take
/// the level: only the text matters to the reader).
pub fn gzip(text: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

/// A tar of `files` (path, text), regular files with GNU headers.
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, text) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, path, *text).unwrap();
    }
    b.into_inner().unwrap()
}

/// A zip of `files` (path, text), each compressed by `method`.
pub fn zip_of(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (path, text) in files {
        let options = zip::write::SimpleFileOptions::default().compression_method(method);
        w.start_file(*path, options).unwrap();
        w.write_all(text).unwrap();
    }
    w.finish().unwrap().into_inner()
}
