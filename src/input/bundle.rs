//! Tar archives read as the logs they hold: a support bundle, or a rotated set kept as one
//! file (`logs.tar.gz` holding `nginx/access.log`, `nginx/access.log.1`,
//! `nginx/access.log.2.gz`). Read as one text, its members' lines would be one input's, each
//! member's header inside a line.
//!
//! Each file in the archive is an input of its own, named `ARCHIVE:MEMBER`
//! (`logs.tar.gz:nginx/access.log.1`, so evidence reads `logs.tar.gz:nginx/access.log.1:2307:`
//! and `tar xOf logs.tar.gz nginx/access.log.1 | sed -n 2307p` shows the line), taken as a
//! directory's files are: in natural order of their paths, hidden ones left out, those that
//! are not logs skipped with a warning. A member's text is a part of the archive's text
//! (mapped, or decoded into a temporary file), not a copy; a compressed member
//! (`access.log.2.gz`) is decoded as a compressed file is. Quirks:
//!
//! - A member is named as archived, `./` before it too (`tar czf b.tgz -C logs .`), so that
//!   `tar xOf` finds it by that name.
//! - Directories, links, devices and FIFOs hold no text of their own and are not read (a hard
//!   link's text is read under its target's name).
//! - A path archived twice (`tar rf`) is read once: the later copy, which `tar x` leaves.
//! - A GNU sparse file keeps its text in pieces: skipped with a warning to extract it.
//! - An archive cut short (a `.tar.gz` copied while it was written) ends inside a member: the
//!   member is read up to the cut, with a warning, as a cut compressed file is.
//! - An archive inside an archive is read as well, down to `MAX_DEPTH` archives deep.

use super::{
    Compression, Damage, Data, Input, SNIFF, STREAM_BUFFER, Spools, natural_cmp, sniff_compression,
    spool, tar_header,
};
use anyhow::Result;
use rayon::prelude::*;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::io::{self, Read};
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

/// Archives inside archives are read this many deep; one deeper is skipped as not a log.
const MAX_DEPTH: usize = 4;

/// An input as opened: the name its errors are told under, whether the user named it (its
/// errors end the run) or it was found inside a directory or an archive (they are warnings),
/// and the input or why it could not be opened.
pub type Opened = (String, bool, Result<Input>);

impl Input {
    /// Whether the input's text is a tar archive (see `tar_header`).
    pub fn is_archive(&self) -> bool {
        tar_header(self.all_bytes())
    }
}

/// `inputs`, each tar archive among them replaced by the files it holds, in place; what to
/// warn of (an archive's damage, members skipped) is added to `warnings`.
pub fn unpack(inputs: Vec<Opened>, warnings: &mut Vec<String>) -> Vec<Opened> {
    unpack_to(inputs, warnings, 0)
}

fn unpack_to(inputs: Vec<Opened>, warnings: &mut Vec<String>, depth: usize) -> Vec<Opened> {
    let mut out = Vec::with_capacity(inputs.len());
    for (name, explicit, input) in inputs {
        match input {
            Ok(archive) if depth < MAX_DEPTH && archive.is_archive() => {
                let members = members(archive, warnings);
                out.extend(unpack_to(members, warnings, depth + 1));
            }
            other => out.push((name, explicit, other)),
        }
    }
    out
}

/// A file in an archive: its path there, and where its bytes lie in the archive's text.
#[derive(Debug, PartialEq, Eq)]
struct Member {
    path: String,
    range: Range<usize>,
    /// The archive ends inside it: its header gives more bytes than are left.
    cut: bool,
    /// A GNU sparse file: its bytes are pieces of the text, not the text.
    sparse: bool,
}

/// The files of the archive `text`, in natural order of their paths, and the error that
/// stopped the listing early, if one did.
fn list(text: &[u8]) -> (Vec<Member>, Option<io::Error>) {
    let mut archive = tar::Archive::new(io::Cursor::new(text));
    let entries = match archive.entries_with_seek() {
        Ok(entries) => entries,
        Err(e) => return (Vec::new(), Some(e)),
    };
    let mut members: Vec<Member> = Vec::new();
    // Where each path is in `members`.
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut error = None;
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                error = Some(e);
                break;
            }
        };
        let kind = entry.header().entry_type();
        let sparse = kind.is_gnu_sparse();
        if !(kind.is_file() || kind.is_contiguous() || sparse) {
            continue;
        }
        // As archived, so that `tar xOf ARCHIVE PATH` finds it (GNU tar does not match
        // `logs/access.log` to `./logs/access.log`).
        let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        // A v7 archive's directories are files whose names end in a slash.
        if unprefixed(&path).is_empty() || path.ends_with('/') || hidden(&path) {
            continue;
        }
        let start = usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX);
        let start = start.min(text.len());
        let want = usize::try_from(entry.size()).unwrap_or(usize::MAX);
        let end = start.saturating_add(want).min(text.len());
        let member = Member {
            path,
            range: start..end,
            cut: end - start < want,
            sparse,
        };
        // The later copy of a path stands (`tar x` writes it over the first).
        match at.entry(unprefixed(&member.path).to_string()) {
            Entry::Occupied(k) => members[*k.get()] = member,
            Entry::Vacant(k) => {
                k.insert(members.len());
                members.push(member);
            }
        }
    }
    members.sort_by(|a, b| natural_cmp(&a.path, &b.path));
    (members, error)
}

/// A member's path without the `./` its archiver may have put before it.
fn unprefixed(mut path: &str) -> &str {
    while let Some(rest) = path.strip_prefix("./") {
        path = rest;
    }
    path
}

/// Whether a member's path has a hidden part (`.git/`, macOS's `._access.log`), left out as
/// in a directory.
fn hidden(path: &str) -> bool {
    path.split('/')
        .any(|part| part.starts_with('.') && part != "." && part != "..")
}

/// The files of `archive`, each an input found inside it (`Opened`).
fn members(archive: Input, warnings: &mut Vec<String>) -> Vec<Opened> {
    let Input {
        name, damage, data, ..
    } = archive;
    let shown = if name == "-" { "<stdin>" } else { &name };
    if let Some(damage) = &damage {
        warnings.push(format!("{shown}: {damage}"));
    }
    let data = Arc::new(data);
    let (listed, error) = list(data.bytes());
    if let Some(e) = error {
        warnings.push(format!(
            "{shown}: cannot read the archive past its {} files: {e}; those are read",
            listed.len()
        ));
    }
    if listed.is_empty() {
        warnings.push(format!("skipped {shown}: a tar archive with no file in it"));
        return Vec::new();
    }
    let mut readable = Vec::with_capacity(listed.len());
    for m in listed {
        let name = format!("{shown}:{}", m.path);
        if m.sparse {
            warnings.push(format!(
                "skipped {name}: a sparse file, which why409 does not read inside an archive: extract it (`tar xf`)"
            ));
        } else {
            readable.push((name, m));
        }
    }
    let spools = Spools::for_inputs(readable.iter().map(|(_, m)| Path::new(&m.path)));
    let opened: Vec<Result<Input>> = (readable.par_iter())
        .map(|(name, m)| open(&data, m, name.clone(), &spools))
        .collect();
    let opened = spools.seal(opened);
    (readable.into_iter().zip(opened))
        .map(|((name, _), input)| (name, false, input))
        .collect()
}

/// A member's input: a part of the archive's text, or its text decoded.
fn open(archive: &Arc<Data>, m: &Member, name: String, spools: &Spools) -> Result<Input> {
    let text = &archive.bytes()[m.range.clone()];
    let (data, damage) = match sniff_compression(&text[..text.len().min(SNIFF)]) {
        Compression::None => {
            let cut = m.cut.then(|| Damage {
                decoded: text.len() as u64,
                error: "the archive ends inside this file".to_string(),
                before: None,
            });
            let data = match text.is_empty() {
                true => Data::Empty,
                false => Data::Part(archive.clone(), m.range.clone()),
            };
            (data, cut)
        }
        // A cut compressed member is told as its decoder finds it.
        _ => {
            let part = Part {
                archive: archive.clone(),
                range: m.range.clone(),
            };
            let buffer = text.len().clamp(8 << 10, STREAM_BUFFER);
            spool(part, &name, buffer, spools)?
        }
    };
    Ok(Input {
        name,
        explicit: false,
        damage,
        data,
    })
}

/// A reader of a part of an archive's text, which it holds (the decoders want `'static`).
struct Part {
    archive: Arc<Data>,
    range: Range<usize>,
}

impl Read for Part {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.archive.bytes()[self.range.clone()];
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        self.range.start += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A tar of `files` (path, text) as GNU tar writes it, by the `tar` crate's builder.
    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, text) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(tar::EntryType::Regular);
            append(&mut b, &mut h, path, text);
        }
        b.into_inner().unwrap()
    }

    /// Appends `text` as `path`, which is written as it is when it is short (the builder's
    /// own paths drop a leading `./`, which GNU tar keeps), else by the builder (a long
    /// name's extra header).
    fn append(b: &mut tar::Builder<Vec<u8>>, h: &mut tar::Header, path: &str, text: &[u8]) {
        if path.len() < 100 {
            h.as_old_mut().name[..path.len()].copy_from_slice(path.as_bytes());
            h.set_cksum();
            b.append(h, text).unwrap();
        } else {
            b.append_data(h, path, text).unwrap();
        }
    }

    fn gzip(text: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    /// An input unpacked: its name, text and damage warning.
    type Unpacked = (String, Vec<u8>, Option<String>);

    /// The inputs the archive `bytes` unpacks to, and the warnings.
    fn unpacked(bytes: &[u8]) -> (Vec<Unpacked>, Vec<String>) {
        let archive = Input::from_bytes("b.tar", bytes).unwrap();
        assert!(archive.is_archive());
        let mut warnings = Vec::new();
        let inputs = unpack(vec![("b.tar".into(), true, Ok(archive))], &mut warnings);
        let inputs = (inputs.into_iter())
            .map(|(name, explicit, input)| {
                assert!(!explicit);
                let input = input.unwrap();
                assert_eq!(name, input.name);
                let damage = input.damage.as_ref().map(|d| d.to_string());
                (name, input.bytes().to_vec(), damage)
            })
            .collect();
        (inputs, warnings)
    }

    const A: &[u8] =
        b"1.2.3.4 - - [02/Mar/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n";
    const B: &[u8] =
        b"1.2.3.5 - - [02/Mar/2026:09:00:01 +0000] \"PUT /a/1 HTTP/1.1\" 409 1 \"-\" \"-\"\n";

    #[test]
    fn members_are_inputs_in_natural_order_of_their_paths() {
        let tar = tar_of(&[
            ("./logs/access.log.10", A),
            ("./logs/access.log.2.gz", &gzip(B)),
            ("./logs/access.log", B),
            ("./logs/.hidden", A),
            ("._access.log", b"\0\x05\x16\x07"),
            ("./logs/empty", b""),
        ]);
        let (inputs, warnings) = unpacked(&tar);
        let names: Vec<&str> = inputs.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "b.tar:./logs/access.log",
                "b.tar:./logs/access.log.2.gz",
                "b.tar:./logs/access.log.10",
                "b.tar:./logs/empty"
            ]
        );
        let texts: Vec<&[u8]> = inputs.iter().map(|(_, t, _)| t.as_slice()).collect();
        assert_eq!(texts, [B, B, A, b""]);
        assert!(inputs.iter().all(|(_, _, d)| d.is_none()));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn directories_and_links_hold_no_text_and_a_path_archived_twice_is_its_later_copy() {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_ustar();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        b.append_data(&mut dir, "logs/", io::empty()).unwrap();
        for (path, text) in [("./logs/access.log", A), ("logs/access.log", B)] {
            let mut h = tar::Header::new_ustar();
            h.set_size(text.len() as u64);
            append(&mut b, &mut h, path, text);
        }
        for kind in [tar::EntryType::Symlink, tar::EntryType::Link] {
            let mut h = tar::Header::new_ustar();
            h.set_entry_type(kind);
            h.set_size(0);
            b.append_link(&mut h, "logs/current", "logs/access.log")
                .unwrap();
        }
        let (inputs, warnings) = unpacked(&b.into_inner().unwrap());
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].0, "b.tar:logs/access.log");
        assert_eq!(inputs[0].1, B);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_v7_archive_is_read() {
        let mut b = tar::Builder::new(Vec::new());
        for (path, text) in [("logs/", &b""[..]), ("logs/access.log", A)] {
            let mut h = tar::Header::new_old();
            h.set_size(text.len() as u64);
            h.set_mode(0o644);
            append(&mut b, &mut h, path, text);
        }
        let tar = b.into_inner().unwrap();
        assert_ne!(&tar[257..262], b"ustar");
        let (inputs, warnings) = unpacked(&tar);
        assert_eq!(inputs.len(), 1);
        assert_eq!(
            (inputs[0].0.as_str(), inputs[0].1.as_slice()),
            ("b.tar:logs/access.log", A)
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn long_names_are_read_whole() {
        let long = format!("{}/access.log", "d".repeat(150));
        let (inputs, _) = unpacked(&tar_of(&[(&long, A)]));
        assert_eq!(inputs[0].0, format!("b.tar:{long}"));
        assert_eq!(inputs[0].1, A);
    }

    #[test]
    fn an_archive_cut_inside_a_member_reads_it_to_the_cut_and_says_so() {
        let tar = tar_of(&[("a.log", A), ("b.log", &B.repeat(20))]);
        // Past the second header and 100 bytes into its text.
        let cut = 512 + 512 + 512 + 100;
        let (inputs, warnings) = unpacked(&tar[..cut]);
        assert_eq!(inputs.len(), 2);
        assert_eq!((inputs[0].1.as_slice(), &inputs[0].2), (A, &None));
        assert_eq!(inputs[1].1, &B.repeat(20)[..100]);
        let damage = inputs[1].2.as_deref().unwrap();
        assert!(
            damage.starts_with(
                "cannot decode past byte 100 of its text: the archive ends inside this file;"
            ),
            "{damage}"
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        // Cut inside the second header: the first file is read, and the rest told.
        let (inputs, warnings) = unpacked(&tar[..512 + 512 + 200]);
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].1, A);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("b.tar: cannot read the archive past its 1 files: "),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_cut_compressed_member_is_told_by_its_decoder() {
        let gz = gzip(&B.repeat(1000));
        let tar = tar_of(&[("a.log.gz", &gz)]);
        let (inputs, _) = unpacked(&tar[..512 + gz.len() / 2]);
        let damage = inputs[0].2.as_deref().unwrap();
        assert!(
            damage.contains("the compressed data ends early"),
            "{damage}"
        );
        assert!(B.repeat(1000).starts_with(&inputs[0].1));
    }

    #[test]
    fn archives_inside_archives_are_read_down_to_the_limit() {
        let mut tar = tar_of(&[("a.log", A)]);
        for depth in 1..=MAX_DEPTH {
            let name = format!("in{depth}.tar");
            tar = tar_of(&[(name.as_str(), tar.as_slice()), ("b.log", B)]);
        }
        let (inputs, _) = unpacked(&tar);
        let names: Vec<&str> = inputs.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "b.tar:b.log",
                "b.tar:in4.tar:b.log",
                "b.tar:in4.tar:in3.tar:b.log",
                "b.tar:in4.tar:in3.tar:in2.tar:b.log",
                // One deeper: left as it is (`not_a_log` tells it).
                "b.tar:in4.tar:in3.tar:in2.tar:in1.tar",
            ]
        );
        let last = &inputs[4].1;
        assert!(tar_header(last) && last.len() > A.len());
    }

    #[test]
    fn an_archive_with_no_file_is_told() {
        let mut b = tar::Builder::new(Vec::new());
        let mut dir = tar::Header::new_ustar();
        dir.set_entry_type(tar::EntryType::Directory);
        dir.set_size(0);
        b.append_data(&mut dir, "logs/", io::empty()).unwrap();
        let (inputs, warnings) = unpacked(&b.into_inner().unwrap());
        assert!(inputs.is_empty());
        assert_eq!(
            warnings,
            ["skipped b.tar: a tar archive with no file in it"]
        );
    }

    #[test]
    fn hidden_parts() {
        assert!(hidden(".git/config"));
        assert!(hidden("logs/._access.log"));
        assert!(!hidden("logs/access.log"));
        assert!(!hidden("../logs/access.log"));
    }
}
