//! The paths the user named, as the inputs to read: `-` for stdin, files as given, directories
//! as the files in them (or below them, `--recursive`) in natural order, and each file read
//! once however many names it is given by.

use anyhow::{Context, Result, bail};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// A path to read, and whether the user named it (rather than a directory holding it).
pub type ToRead = (PathBuf, bool);

/// The paths the user gave, expanded: files stay, `-` is stdin, a directory becomes the
/// files directly in it, or with `recursive` the files anywhere below it (S3 delivers ALB
/// and CloudFront logs under `AWSLogs/<account>/…/yyyy/mm/dd/`). Hidden files and
/// directories below a given one are skipped; symbolic links to files are read, links to
/// directories are not followed (a loop would never end). Each directory's files are in
/// natural order of their paths (`access.log.2` before `access.log.10`, `03/02/` before
/// `03/10/`). Also notes to warn of: subdirectories left unread, and those that could not
/// be listed (their files are then missing from the report).
pub fn expand(paths: &[PathBuf], recursive: bool) -> Result<(Vec<ToRead>, Vec<String>)> {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            out.push((p.clone(), true));
            continue;
        }
        let meta = std::fs::metadata(p).with_context(|| format!("{}: cannot open", p.display()))?;
        if !meta.is_dir() {
            out.push((p.clone(), true));
            continue;
        }
        let listing = list_directory(p, recursive)?;
        let unread = match listing.subdirectories {
            0 => String::new(),
            1 => " (it has a subdirectory: --recursive reads it)".to_string(),
            n => format!(" (it has {n} subdirectories: --recursive reads them)"),
        };
        if listing.files.is_empty() {
            bail!("{}: directory has no files to read{unread}", p.display());
        }
        if !unread.is_empty() {
            notes.push(format!(
                "{}: only the files directly inside are read{unread}",
                p.display()
            ));
        }
        notes.extend(listing.errors);
        let mut found: Vec<(String, PathBuf)> = (listing.files.into_iter())
            .map(|p| (p.to_string_lossy().into_owned(), p))
            .collect();
        found.sort_by(|a, b| natural_cmp(&a.0, &b.0));
        out.extend(found.into_iter().map(|(_, f)| (f, false)));
    }
    Ok((out, notes))
}

/// What listing a directory found.
struct Listing {
    files: Vec<PathBuf>,
    /// Subdirectories not read (not `recursive`), hidden ones left out.
    subdirectories: usize,
    /// Directories below that could not be listed, as notes.
    errors: Vec<String>,
}

fn list_directory(dir: &Path, recursive: bool) -> Result<Listing> {
    let hidden = |e: &walkdir::DirEntry| {
        e.depth() > 0 && e.file_name().to_str().is_some_and(|n| n.starts_with('.'))
    };
    let depth = if recursive { usize::MAX } else { 1 };
    let mut walk = (walkdir::WalkDir::new(dir).min_depth(1).max_depth(depth)).into_iter();
    let mut listing = Listing {
        files: Vec::new(),
        subdirectories: 0,
        errors: Vec::new(),
    };
    while let Some(entry) = walk.next() {
        let entry = match entry {
            Ok(e) => e,
            // The directory given cannot be listed: nothing of it can be read.
            Err(e) if e.depth() == 0 => {
                let why = e
                    .io_error()
                    .map_or_else(|| e.to_string(), ToString::to_string);
                bail!("{}: cannot list directory: {why}", dir.display());
            }
            Err(e) => {
                let at = e.path().unwrap_or(dir).display().to_string();
                let why = e
                    .io_error()
                    .map_or_else(|| e.to_string(), ToString::to_string);
                listing
                    .errors
                    .push(format!("{at}: cannot list, skipped: {why}"));
                continue;
            }
        };
        let kind = entry.file_type();
        if kind.is_dir() {
            if hidden(&entry) {
                walk.skip_current_dir();
            } else if !recursive {
                listing.subdirectories += 1;
                walk.skip_current_dir();
            }
            continue;
        }
        // A link is read when it leads to a file (not followed into a directory).
        if hidden(&entry) || !(kind.is_file() || (kind.is_symlink() && entry.path().is_file())) {
            continue;
        }
        listing.files.push(entry.into_path());
    }
    Ok(listing)
}

/// Drops the inputs that name a file listed before (`why409 access.log logs/` with the
/// log in `logs/`, or one file by two names): its requests would be counted twice. The one
/// kept is explicit if any of its names was. Says which were dropped.
pub fn drop_repeats(inputs: &mut Vec<ToRead>) -> Vec<String> {
    let mut first: std::collections::HashMap<(u64, u64), usize> = Default::default();
    let mut notes = Vec::new();
    let mut kept: Vec<ToRead> = Vec::with_capacity(inputs.len());
    // Stdin is one input however often it is named (two readers of a pipe would split its
    // lines between them); read from its start as a file, it is that file. Other pipes are
    // streams, never the same as another input. Looked up side by side: a `stat` each, and
    // a directory of 80,000 files waited 0.15 s on them one by one.
    let ids: Vec<Option<(u64, u64)>> = (inputs.par_iter())
        .map(|(path, _)| match path.as_os_str() == "-" {
            true => Some(stdin_identity().unwrap_or((u64::MAX, u64::MAX))),
            false => file_identity(path),
        })
        .collect();
    for ((path, explicit), id) in inputs.drain(..).zip(ids) {
        if let Some(id) = id {
            if let Some(&k) = first.get(&id) {
                kept[k].1 |= explicit;
                notes.push(if path == kept[k].0 {
                    format!("{}: listed more than once, read once", path.display())
                } else {
                    format!(
                        "{}: the same file as {}, read once",
                        path.display(),
                        kept[k].0.display()
                    )
                });
                continue;
            }
            first.insert(id, kept.len());
        }
        kept.push((path, explicit));
    }
    *inputs = kept;
    notes
}

/// Device and inode of a regular file, which two names of one file share.
#[cfg(unix)]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    identity(std::fs::metadata(path).ok()?)
}

/// `file_identity` of stdin when it is a file read from its start (`stdin_file`).
#[cfg(unix)]
fn stdin_identity() -> Option<(u64, u64)> {
    identity(super::stdin_file()?.metadata().ok()?)
}

/// Device and inode, for a regular file's metadata.
#[cfg(unix)]
fn identity(m: std::fs::Metadata) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    m.is_file().then(|| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn stdin_identity() -> Option<(u64, u64)> {
    None
}

#[cfg(not(unix))]
fn file_identity(path: &Path) -> Option<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    let canonical = std::fs::canonicalize(path).ok().filter(|p| p.is_file())?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    canonical.hash(&mut h);
    Some((0, h.finish()))
}

/// Orders `access.log.2.gz` after `access.log.10`? No: compares digit runs as numbers so
/// `log.2` < `log.10`.
pub(super) fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    // The names of a directory share most of their length (`logs/part.000123`): the runs
    // before the one where two first differ are the same, so the comparison starts at the
    // start of that run (a run boundary is a character boundary: digits are ASCII).
    let (x, y) = (a.as_bytes(), b.as_bytes());
    let same = x.iter().zip(y).take_while(|(p, q)| p == q).count();
    let start = match same.checked_sub(1) {
        None => 0,
        Some(last) => {
            let digits = x[last].is_ascii_digit();
            (x[..last].iter())
                .rposition(|c| c.is_ascii_digit() != digits)
                .map_or(0, |p| p + 1)
        }
    };
    runs_cmp(&a[start..], &b[start..])
}

/// `natural_cmp` from the start of a run in both names.
fn runs_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    let (mut pa, mut pb) = (Runs(a), Runs(b));
    loop {
        let (x, y) = match (pa.next(), pb.next()) {
            (None, None) => return Equal,
            (None, Some(_)) => return Less,
            (Some(_), None) => return Greater,
            (Some(x), Some(y)) => (x, y),
        };
        let ord = match (x.0, y.0) {
            (true, true) => {
                let xa = x.1.trim_start_matches('0');
                let ya = y.1.trim_start_matches('0');
                xa.len().cmp(&ya.len()).then(xa.cmp(ya))
            }
            _ => x.1.cmp(y.1),
        };
        if ord != Equal {
            return ord;
        }
    }
}

/// The runs of ASCII digits and of other characters of a name, each with whether it is
/// digits. (An iterator, not a vector: sorting a directory of 100,000 files compares
/// names a million times.)
struct Runs<'a>(&'a str);

impl<'a> Iterator for Runs<'a> {
    type Item = (bool, &'a str);

    fn next(&mut self) -> Option<(bool, &'a str)> {
        let b = self.0.as_bytes();
        let digits = b.first()?.is_ascii_digit();
        let end = (b.iter())
            .position(|c| c.is_ascii_digit() != digits)
            .unwrap_or(b.len());
        // A digit is one byte, so a change between digits and others is a char boundary.
        let (run, rest) = self.0.split_at(end);
        self.0 = rest;
        Some((digits, run))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_named_twice_is_read_once() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.log"), dir.path().join("b.log"));
        std::fs::write(&a, "x\n").unwrap();
        std::fs::write(&b, "x\n").unwrap();
        // A second name of `a.log` (its hard link).
        let again = dir.path().join("c.log");
        std::fs::hard_link(&a, &again).unwrap();
        let mut inputs = vec![
            (a.clone(), false),
            (b.clone(), false),
            (again.clone(), true),
            (PathBuf::from("-"), true),
            (PathBuf::from("-"), true),
        ];
        let notes = drop_repeats(&mut inputs);
        // The first name stays, explicit since its second name was; stdin named twice is
        // read once too.
        assert_eq!(inputs, [(a.clone(), true), (b, false), ("-".into(), true)]);
        assert_eq!(notes.len(), 2);
        assert!(
            notes[0].contains("c.log: the same file as") && notes[0].ends_with("a.log, read once")
        );
        assert_eq!(notes[1], "-: listed more than once, read once");
        // Under one name, it says so.
        let mut inputs = vec![(a.clone(), true), (a.clone(), false)];
        assert_eq!(
            drop_repeats(&mut inputs),
            [format!("{}: listed more than once, read once", a.display())]
        );
        assert_eq!(inputs, [(a, true)]);
    }

    /// A tree as S3 lays out ALB logs, with a hidden file, a hidden directory, a link to a
    /// file and a link to a directory: recursively, every visible file below (the linked
    /// file too, the linked directory not followed) in natural order of the paths; without,
    /// the files directly inside and a note of the subdirectories left unread.
    #[cfg(unix)]
    #[test]
    fn directories_are_read_directly_or_recursively() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let put = |rel: &str| {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, "x\n").unwrap();
        };
        for rel in [
            "top.log",
            ".hidden.log",
            "2026/03/10/b.log.gz",
            "2026/03/02/b.log.gz",
            "2026/03/02/a.log.gz",
            "2026/03/.cache/c.log",
            ".git/HEAD",
        ] {
            put(rel);
        }
        std::os::unix::fs::symlink(root.join("top.log"), root.join("linked.log")).unwrap();
        std::os::unix::fs::symlink(root.join("2026"), root.join("years")).unwrap();
        let rel = |(files, notes): (Vec<ToRead>, Vec<String>)| {
            let names: Vec<String> = (files.iter())
                .map(|(p, explicit)| {
                    assert!(!explicit);
                    p.strip_prefix(root).unwrap().display().to_string()
                })
                .collect();
            (names, notes)
        };
        let given = [root.to_path_buf()];
        assert_eq!(
            rel(expand(&given, true).unwrap()),
            (
                vec![
                    "2026/03/02/a.log.gz".to_string(),
                    "2026/03/02/b.log.gz".into(),
                    "2026/03/10/b.log.gz".into(),
                    "linked.log".into(),
                    "top.log".into(),
                ],
                vec![]
            )
        );
        let (files, notes) = rel(expand(&given, false).unwrap());
        assert_eq!(files, ["linked.log", "top.log"]);
        assert_eq!(
            notes,
            [format!(
                "{}: only the files directly inside are read (it has a subdirectory: --recursive reads it)",
                root.display()
            )]
        );
        // Only subdirectories: an error that says how to read them; a file given is kept.
        let sub = root.join("2026/03");
        let e = expand(std::slice::from_ref(&sub), false).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}: directory has no files to read (it has 2 subdirectories: --recursive reads them)",
                sub.display()
            )
        );
        let file = root.join("top.log");
        assert_eq!(
            expand(&[file.clone(), "-".into()], false).unwrap(),
            (vec![(file, true), ("-".into(), true)], vec![])
        );
        assert!(expand(&[root.join("missing")], true).is_err());
    }

    proptest::proptest! {
        /// Comparing run by run as they are found is comparing the lists of runs (as it
        /// was first written): names of digits and dots, leading zeros, one a prefix of the
        /// other, non-ASCII letters, a start in common.
        #[test]
        fn natural_order_is_the_order_of_the_runs(
            same in "[0-9a.é/]{0,6}",
            a in "[0-9a.é/]{0,12}",
            b in "(access\\.log)?[0-9a.é/]{0,12}",
        ) {
            // Names of one directory share their start.
            let (a, b) = (format!("{same}{a}"), format!("{same}{b}"));
            fn runs(s: &str) -> Vec<(bool, &str)> {
                let mut v = Vec::new();
                let (bytes, mut start) = (s.as_bytes(), 0);
                for i in 1..=bytes.len() {
                    if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                        v.push((bytes[start].is_ascii_digit(), &s[start..i]));
                        start = i;
                    }
                }
                v
            }
            // The comparison as it was written first, on lists.
            let (pa, pb) = (runs(&a), runs(&b));
            let want = (pa.iter().zip(pb.iter()))
                .map(|(x, y)| match (x.0, y.0) {
                    (true, true) => {
                        let xa = x.1.trim_start_matches('0');
                        let ya = y.1.trim_start_matches('0');
                        xa.len().cmp(&ya.len()).then(xa.cmp(ya))
                    }
                    _ => x.1.cmp(y.1),
                })
                .find(|o| o.is_ne())
                .unwrap_or(pa.len().cmp(&pb.len()));
            proptest::prop_assert_eq!(natural_cmp(&a, &b), want);
        }
    }

    #[test]
    fn natural_order_for_rotated_sets() {
        let mut v = vec![
            "access.log.10.gz",
            "access.log.2.gz",
            "access.log",
            "access.log.1",
        ];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            v,
            vec![
                "access.log",
                "access.log.1",
                "access.log.2.gz",
                "access.log.10.gz"
            ]
        );
    }
}
