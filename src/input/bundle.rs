//! Tar and zip archives read as the logs they hold: a support bundle, or a rotated set kept
//! as one file (`logs.tar.gz` holding `nginx/access.log`, `nginx/access.log.1`,
//! `nginx/access.log.2.gz`; IIS's `W3SVC1.zip`). Read as one text, its members' lines would be
//! one input's, each member's header inside a line.
//!
//! Each file in the archive is an input of its own, named `ARCHIVE:MEMBER`
//! (`logs.tar.gz:nginx/access.log.1`, so evidence reads `logs.tar.gz:nginx/access.log.1:2307:`
//! and `tar xOf logs.tar.gz nginx/access.log.1 | sed -n 2307p`, or `unzip -p` for a zip, shows
//! the line), taken as a directory's files are: in natural order of their paths, hidden ones
//! left out, those that are not logs skipped with a warning. A member's text is a part of the archive's text
//! (mapped, or decoded into a temporary file), not a copy; a compressed member
//! (`access.log.2.gz`) is decoded as a compressed file is. Quirks:
//!
//! - A member is named as archived, `./` before it too (`tar czf b.tgz -C logs .`), so that
//!   `tar xOf` finds it by that name.
//! - Directories, links, devices and FIFOs hold no text of their own and are not read (a hard
//!   link's text is read under its target's name).
//! - A path archived twice (`tar rf`) is read once: the later copy, which `tar x` leaves.
//! - A GNU sparse file keeps its text in pieces: skipped with a warning to extract it.
//! - A zip's deflated file is checked against its CRC-32 (deflate has no check of its own);
//!   bzip2, zstd and xz members are streams with their own checks; encrypted files and other
//!   methods (LZMA, Deflate64, PPMd) are skipped with a warning to extract them. A zip is
//!   listed by its central directory, at its end; one cut short (a download stopped) has
//!   its files found by the header before each, with a warning, up to the cut (a file
//!   written as a stream, its size only after its data, ends where decoding it ends, or a
//!   stored one at the descriptor that gives its size).
//! - An archive cut short (a `.tar.gz` copied while it was written) ends inside a member: the
//!   member is read up to the cut, with a warning, as a cut compressed file is.
//! - An archive inside an archive is read as well, down to `MAX_DEPTH` archives deep.
//! - With a time range, each file is dated by its path or the modification time the archive
//!   keeps (`file_period::of_member`), and those outside the range are not decoded, as a
//!   directory's files are not opened.

use super::{
    Compression, Counted, Damage, Data, Input, SNIFF, STREAM_BUFFER, Spools, natural_cmp,
    sniff_compression, spool, tar_header,
};
use crate::file_period::{self, FilePeriod, LastModified};
use crate::progress::{Progress, Stage};
use crate::record::Micros;
use crate::timestamp::{MICROS_PER_SEC, days_from_civil};
use anyhow::{Result, bail};
use flate2::read::DeflateDecoder;
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

/// Asked of each archive's files, with their periods (`file_period::of_member`, `None` where
/// nothing dates one) and names, which of them to read (`None`: all): those left out are
/// not decoded. It notes them itself.
pub type ByDate<'a> = dyn FnMut(&[Option<FilePeriod>], &[&str]) -> Option<Vec<bool>> + 'a;

/// `inputs`, each tar or zip archive among them replaced by the files it holds that
/// `by_date` reads, in place; what to warn of (an archive's damage, members skipped) is
/// added to `warnings`.
///
/// The compressed bytes of the files decoded are noted as `progress` (`Stage::Unpacking`,
/// started at the first archive, its total grown as each is listed).
pub fn unpack(
    inputs: Vec<Opened>,
    warnings: &mut Vec<String>,
    by_date: &mut ByDate,
    progress: Option<&Arc<Progress>>,
) -> Vec<Opened> {
    let mut unpacking = Unpacking {
        warnings,
        by_date,
        progress,
        started: false,
    };
    unpacking.unpack(inputs, 0)
}

/// What `unpack` carries down to archives inside archives.
struct Unpacking<'a, 'b> {
    warnings: &'a mut Vec<String>,
    by_date: &'a mut ByDate<'b>,
    progress: Option<&'a Arc<Progress>>,
    /// Whether `progress` is at `Stage::Unpacking` yet.
    started: bool,
}

impl Unpacking<'_, '_> {
    /// `unpack` of `inputs` found `depth` archives deep.
    fn unpack(&mut self, inputs: Vec<Opened>, depth: usize) -> Vec<Opened> {
        let mut out = Vec::with_capacity(inputs.len());
        for (name, explicit, input) in inputs {
            let kind = match &input {
                Ok(input) if depth < MAX_DEPTH => Kind::of(input.all_bytes()),
                _ => None,
            };
            match (input, kind) {
                (Ok(archive), Some(kind)) => match self.members(archive, kind) {
                    Ok(members) => out.extend(self.unpack(members, depth + 1)),
                    Err(e) => out.push((name, explicit, Err(e))),
                },
                (input, _) => out.push((name, explicit, input)),
            }
        }
        out
    }

    /// The files of `archive`, each an input found inside it (`Opened`).
    ///
    /// An archive none of whose files can be listed (a zip cut short, without its directory) is
    /// an error, as a file that cannot be read is.
    fn members(&mut self, archive: Input, kind: Kind) -> Result<Vec<Opened>> {
        let warnings = &mut *self.warnings;
        let Input {
            name,
            damage,
            archive: outer,
            data,
            ..
        } = archive;
        // Files inside an archive inside another are read again by naming the outer one.
        let given = outer.unwrap_or_else(|| name.clone());
        let shown = if name == "-" { "<stdin>" } else { &name };
        let data = Arc::new(data);
        let Listing { members, error, .. } = Listing::of(kind, data.bytes());
        let kind = kind.name();
        if let Some(e) = error.as_ref().filter(|_| members.is_empty()) {
            let msg = format!("{shown}: cannot read the {kind} archive: {e}");
            bail!(Damage::explaining(damage.as_ref(), msg));
        }
        if let Some(damage) = &damage {
            warnings.push(format!("{shown}: {damage}"));
        }
        if let Some(e) = &error {
            let read = match members.len() {
                1 => "the file listed before is read".to_string(),
                n => format!("the {n} files listed before are read"),
            };
            warnings.push(format!(
                "{shown}: cannot read the {kind} archive: {e}; {read}"
            ));
        }
        if members.is_empty() {
            warnings.push(format!(
                "skipped {shown}: a {kind} archive with no file in it"
            ));
            return Ok(Vec::new());
        }
        let mut readable = Vec::with_capacity(members.len());
        for m in members {
            let name = format!("{shown}:{}", m.path);
            match &m.coding {
                Coding::Unread(why) => warnings.push(format!("skipped {name}: {why}")),
                _ => readable.push((name, m)),
            }
        }
        let periods: Vec<Option<FilePeriod>> = (readable.iter())
            .map(|(_, m)| file_period::of_member(unprefixed(&m.path), m.modified))
            .collect();
        let names: Vec<&str> = readable.iter().map(|(name, _)| name.as_str()).collect();
        if let Some(read) = (self.by_date)(&periods, &names) {
            let mut read = read.into_iter();
            readable.retain(|_| read.next().unwrap_or(true));
        }
        let progress = self.count_decoding(&data, readable.iter().map(|(_, m)| m));
        let spools = Spools::for_inputs(readable.iter().map(|(_, m)| Path::new(&m.path)));
        let opened: Vec<Result<Input>> = (readable.par_iter())
            .map(|(name, m)| open(&data, m, name.clone(), &given, &spools, progress))
            .collect();
        let opened = spools.seal(opened);
        Ok((readable.into_iter().zip(opened))
            .map(|((name, _), input)| (name, false, input))
            .collect())
    }

    /// Notes the bytes of those of `members` that are decoded as bytes to do, and gives the
    /// progress to note them in as they are read; `None` if none is decoded.
    fn count_decoding<'m>(
        &mut self,
        archive: &Data,
        members: impl Iterator<Item = &'m Member>,
    ) -> Option<&Arc<Progress>> {
        let p = self.progress?;
        let bytes: u64 = (members.filter(|m| decoded(archive, m)))
            .map(|m| m.range.len() as u64)
            .sum();
        if bytes == 0 {
            return None;
        }
        if !std::mem::replace(&mut self.started, true) {
            p.start(Stage::Unpacking, 0);
        }
        p.grow(bytes);
        Some(p)
    }
}

/// Whether `path`'s name says it is a tar or zip archive (`logs.tgz`, `W3SVC1.zip`): its
/// modification time is when it was made, not its last line's.
pub fn archive_name(path: &Path) -> bool {
    const ENDINGS: [&str; 9] = [
        ".tar", ".tgz", ".taz", ".tbz", ".tbz2", ".txz", ".tzst", ".tlz4", ".zip",
    ];
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase());
    let name = name.unwrap_or_default();
    // `.tar.gz`, `.tar.zst` and the like: a tar compressed by any decoder.
    ENDINGS.iter().any(|e| name.ends_with(e)) || name.contains(".tar.")
}

/// The archive formats read as their files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Tar,
    Zip,
}

impl Kind {
    /// The kind of archive `text` is, if it is one: a tar by its first header
    /// (`tar_header`), a zip by the signature of its first file or of its end (an empty
    /// one).
    fn of(text: &[u8]) -> Option<Kind> {
        if tar_header(text) {
            Some(Kind::Tar)
        } else if text.starts_with(b"PK\x03\x04") || text.starts_with(b"PK\x05\x06") {
            Some(Kind::Zip)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Tar => "tar",
            Kind::Zip => "zip",
        }
    }
}

/// A file in an archive: its path there, where its bytes lie in the archive's text, and how
/// they hold its text.
#[derive(Debug, PartialEq, Eq)]
struct Member {
    path: String,
    range: Range<usize>,
    coding: Coding,
    /// Its last modification as the archive keeps it.
    modified: Option<LastModified>,
}

#[derive(Debug, PartialEq, Eq)]
enum Coding {
    /// The bytes are the text (a compressed file among them is sniffed as one on disk is).
    Plain,
    /// Plain, but the archive ends inside it: its header gives more bytes than are left.
    Cut,
    /// Raw deflate, as a zip keeps most files, and the CRC-32 and length of the text (deflate
    /// has no check of its own: a changed byte decodes to other text).
    Deflated { crc: u32, len: u64 },
    /// Not read, for this reason (a warning's end).
    Unread(String),
}

/// The files an archive lists, and the error that stopped the listing early, if one did.
#[derive(Default)]
struct Listing {
    members: Vec<Member>,
    error: Option<String>,
    /// Where each path (`unprefixed`) is in `members`.
    at: HashMap<String, usize>,
}

impl Listing {
    /// Adds the member whose `want` bytes start at `start` in the archive `text` (`add`), its
    /// coding as `coding` gives it for whether the text ends before those bytes do (`within`).
    fn add_at(
        &mut self,
        text: &[u8],
        path: String,
        (start, want): (usize, usize),
        modified: Option<LastModified>,
        coding: impl FnOnce(bool) -> Coding,
    ) {
        let (range, cut) = within(text, start, want);
        self.add(Member {
            path,
            range,
            coding: coding(cut),
            modified,
        });
    }

    /// Adds a member found as `path` (as archived, so that `tar xOf ARCHIVE PATH` or
    /// `unzip -p` finds it: GNU tar does not match `logs/access.log` to
    /// `./logs/access.log`), unless it is hidden or a directory; a path listed twice is
    /// its later copy (`tar x` writes it over the first).
    fn add(&mut self, member: Member) {
        let path = &member.path;
        // A v7 tar's directories are files whose names end in a slash.
        if unprefixed(path).is_empty() || path.ends_with('/') || hidden(path) {
            return;
        }
        let key = unprefixed(path).to_string();
        match self.at.entry(key) {
            Entry::Occupied(k) => self.members[*k.get()] = member,
            Entry::Vacant(k) => {
                k.insert(self.members.len());
                self.members.push(member);
            }
        }
    }

    /// The listing of the archive `text`, its files in natural order of their paths.
    fn of(kind: Kind, text: &[u8]) -> Listing {
        let mut listing = match kind {
            Kind::Tar => Listing::of_tar(text),
            Kind::Zip => Listing::of_zip(text),
        };
        (listing.members).sort_by(|a, b| natural_cmp(&a.path, &b.path));
        listing
    }

    /// The listing so far, stopped by `e`.
    fn stopped(mut self, e: impl ToString) -> Listing {
        self.error = Some(e.to_string());
        self
    }

    fn of_tar(text: &[u8]) -> Listing {
        let mut listing = Listing::default();
        let mut archive = tar::Archive::new(io::Cursor::new(text));
        let entries = match archive.entries_with_seek() {
            Ok(entries) => entries,
            Err(e) => return listing.stopped(e),
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => return listing.stopped(e),
            };
            let kind = entry.header().entry_type();
            let sparse = kind.is_gnu_sparse();
            if !(kind.is_file() || kind.is_contiguous() || sparse) {
                continue;
            }
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let start = usize::try_from(entry.raw_file_position()).unwrap_or(usize::MAX);
            let want = usize::try_from(entry.size()).unwrap_or(usize::MAX);
            let modified = entry.header().mtime().ok().and_then(from_epoch);
            let modified = modified.map(LastModified::Utc);
            listing.add_at(text, path, (start, want), modified, |cut| {
                match () {
                    // Its bytes are pieces of the text, not the text.
                    _ if sparse => Coding::Unread(
                        "a sparse file, which why409 does not read inside an archive: extract it (`tar xf`)"
                            .to_string(),
                    ),
                    _ if cut => Coding::Cut,
                    _ => Coding::Plain,
                }
            });
        }
        listing
    }

    fn of_zip(text: &[u8]) -> Listing {
        let mut listing = Listing::default();
        let mut archive = match zip::ZipArchive::new(io::Cursor::new(text)) {
            Ok(archive) => archive,
            // Its directory, at its end, is missing or unreadable (a download cut short):
            // its files are found by the headers before each.
            Err(e) => {
                let found = Listing::of_zip_headers(text);
                let why = found
                    .error
                    .as_deref()
                    .map_or(String::new(), |w| format!("; {w}"));
                return found.stopped(format!(
                    "its directory cannot be read ({e}), so its files are found by the header before each{why}"
                ));
            }
        };
        for i in 0..archive.len() {
            let file = match archive.by_index_raw(i) {
                Ok(file) => file,
                Err(e) => return listing.stopped(e),
            };
            if file.is_dir() || file.is_symlink() {
                continue;
            }
            let path = String::from_utf8_lossy(file.name_raw()).into_owned();
            let start = file.data_start().map_or(usize::MAX, |s| s as usize);
            let want = usize::try_from(file.compressed_size()).unwrap_or(usize::MAX);
            let (method, encrypted) = (file.compression(), file.encrypted());
            let (crc, len) = (file.crc32(), file.size());
            let coding = |cut| zip_coding(method, encrypted, cut, crc, len);
            let modified = zip_modified(&file);
            listing.add_at(text, path, (start, want), modified, coding);
        }
        listing
    }

    /// The files of a zip without its directory, found by the local header before each
    /// (`PK\3\4`, then sizes, name and extra fields), from the start, up to the end of the
    /// text. A file written as a stream (its sizes after its data) ends where decoding it
    /// ends, or, stored, at the descriptor giving its own size. What stopped the walk short
    /// of the end is the error.
    fn of_zip_headers(text: &[u8]) -> Listing {
        let mut listing = Listing::default();
        let mut at: usize = 0;
        loop {
            let mut h = match LocalHeader::read(text, at) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => return listing.stopped(e),
            };
            if let Err(e) = h.find_streamed_size(text) {
                return listing.stopped(e);
            }
            let want = usize::try_from(h.packed).unwrap_or(usize::MAX);
            let (method, crc, len) = (h.method, h.crc, h.len);
            let encrypted = h.flags & 0x1 != 0;
            listing.add_at(text, h.path, (h.start, want), h.modified, |cut| match method {
                Ok(method) => zip_coding(method, encrypted, cut, crc, len),
                Err(id) => Coding::Unread(format!(
                    "compressed by method {id}, which why409 does not read inside a zip: extract it (`unzip`)"
                )),
            });
            at = h.start.saturating_add(want);
            if at >= text.len() {
                break;
            }
            // A data descriptor after the data, its signature optional.
            if h.flags & 0x8 != 0 {
                let next = [16, 12, 24, 20]
                    .into_iter()
                    .find(|&n| (text.get(at + n..at + n + 4)).is_none_or(|s| s.starts_with(b"PK")));
                at += next.unwrap_or(0);
            }
        }
        listing
    }
}

/// A zip's local file header (`PK\3\4`, 30 bytes, then the name and extra fields): what a
/// walk without the central directory knows of a file.
struct LocalHeader<'t> {
    flags: u16,
    /// The compression method, or its id when why409 does not decode it.
    method: Result<zip::CompressionMethod, u16>,
    crc: u32,
    /// Compressed size (zip64's where the header defers to it).
    packed: u64,
    /// Uncompressed size.
    len: u64,
    path: String,
    extra: &'t [u8],
    /// Where the file's data starts in the text.
    start: usize,
    modified: Option<LastModified>,
}

impl<'t> LocalHeader<'t> {
    const SIGNATURE: &'static [u8] = b"PK\x03\x04";

    /// The header at `at`: none where no header starts there (the end of the files), an
    /// error where one is cut short or its zip64 sizes are missing.
    fn read(text: &'t [u8], at: usize) -> Result<Option<LocalHeader<'t>>, &'static str> {
        use zip::CompressionMethod as Method;
        let Some(h) = (at.checked_add(30))
            .and_then(|end| text.get(at..end))
            .filter(|h| h.starts_with(Self::SIGNATURE))
        else {
            return Ok(None);
        };
        let u16_at = |i: usize| u16::from_le_bytes([h[i], h[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let method = match u16_at(8) {
            0 => Ok(Method::STORE),
            8 => Ok(Method::DEFLATE),
            12 => Ok(Method::BZIP2),
            93 => Ok(Method::ZSTD),
            95 => Ok(Method::XZ),
            other => Err(other),
        };
        let (mut packed, mut len) = (u64::from(u32_at(18)), u64::from(u32_at(22)));
        let name_at = at + 30;
        let extra_at = name_at + usize::from(u16_at(26));
        let start = extra_at + usize::from(u16_at(28));
        let (Some(name), Some(extra)) = (text.get(name_at..extra_at), text.get(extra_at..start))
        else {
            return Err("the archive ends inside a file's header");
        };
        // Zip64: the sizes are in an extra field, the text's first.
        if packed == u64::from(u32::MAX) || len == u64::from(u32::MAX) {
            let z = (extra_field(extra, 0x0001).filter(|z| z.len() >= 16))
                .ok_or("a file's zip64 sizes are missing")?;
            len = u64::from_le_bytes(z[..8].try_into().unwrap_or_default());
            packed = u64::from_le_bytes(z[8..16].try_into().unwrap_or_default());
        }
        Ok(Some(LocalHeader {
            flags: u16_at(6),
            method,
            crc: u32_at(14),
            packed,
            len,
            path: String::from_utf8_lossy(name).into_owned(),
            extra,
            start,
            modified: local_modified(extra, u16_at(12), u16_at(10)),
        }))
    }

    /// For a file written as a stream (as Java's `ZipOutputStream` writes deflated files),
    /// the sizes and CRC-32 that follow its data, whose end only decoding finds; stored, the
    /// descriptor that gives its own distance as the size. A stored directory's size is its
    /// own: none. An error where another file follows and no end was found.
    fn find_streamed_size(&mut self, text: &[u8]) -> Result<(), &'static str> {
        let directory =
            self.path.ends_with('/') && self.method == Ok(zip::CompressionMethod::STORE);
        if self.flags & 0x8 == 0 || self.packed != 0 || directory {
            return Ok(());
        }
        let data = text.get(self.start..).unwrap_or_default();
        let zip64 = extra_field(self.extra, 0x0001).is_some();
        self.packed = match self.method {
            Ok(zip::CompressionMethod::DEFLATE) => deflated_length(data),
            _ => stored_length(data, zip64),
        }
        .map_or(u64::MAX, |n| n as u64);
        let descriptor = data.get(self.packed as usize..).unwrap_or_default();
        match data_descriptor(descriptor, zip64) {
            Some((c, l)) => (self.crc, self.len) = (c, l),
            // Another file after it, where no end was found: its text cannot be told from
            // theirs.
            None if memchr::memmem::find(data, Self::SIGNATURE).is_some() => {
                return Err(
                    "a file's size is given only after its data, and its data's end was not found (a zip written as a stream)",
                );
            }
            // The archive ends inside it.
            None => {}
        }
        Ok(())
    }
}

/// The length of the raw deflate stream at the start of `data`, found by decoding it to its
/// end; `None` when `data` ends first, or is not deflate.
fn deflated_length(data: &[u8]) -> Option<usize> {
    let mut inflate = flate2::Decompress::new(false);
    // The text is not kept: each round writes over the last.
    let mut scratch = vec![0; 64 << 10];
    loop {
        let (read, written) = (inflate.total_in(), inflate.total_out());
        let rest = data.get(read as usize..)?;
        let status =
            (inflate.decompress(rest, &mut scratch, flate2::FlushDecompress::None)).ok()?;
        if status == flate2::Status::StreamEnd {
            return usize::try_from(inflate.total_in()).ok();
        }
        // No progress: the data ended inside the stream.
        if (inflate.total_in(), inflate.total_out()) == (read, written) {
            return None;
        }
    }
}

/// The length of a stored file written as a stream at the start of `data`: up to the first
/// signed data descriptor whose compressed size is that distance.
fn stored_length(data: &[u8], zip64: bool) -> Option<usize> {
    memchr::memmem::find_iter(data, b"PK\x07\x08").find(|&p| {
        let size = match zip64 {
            true => data
                .get(p + 8..p + 16)
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())),
            false => data
                .get(p + 8..p + 12)
                .map(|b| u64::from(u32::from_le_bytes(b.try_into().unwrap_or_default()))),
        };
        size == Some(p as u64)
    })
}

/// The CRC-32 and length of the text in the data descriptor at the start of `d` (its
/// signature optional; zip64's sizes 8 bytes each), if `d` holds it whole.
fn data_descriptor(d: &[u8], zip64: bool) -> Option<(u32, u64)> {
    let d = d.strip_prefix(b"PK\x07\x08").unwrap_or(d);
    let crc = u32::from_le_bytes(d.get(..4)?.try_into().ok()?);
    let len = match zip64 {
        true => u64::from_le_bytes(d.get(12..20)?.try_into().ok()?),
        false => u64::from(u32::from_le_bytes(d.get(8..12)?.try_into().ok()?)),
    };
    Some((crc, len))
}

/// How a zip's file holds its text, by its method; `cut` when the archive ends inside it.
fn zip_coding(
    method: zip::CompressionMethod,
    encrypted: bool,
    cut: bool,
    crc: u32,
    len: u64,
) -> Coding {
    use zip::CompressionMethod as Method;
    match method {
        _ if encrypted => Coding::Unread("encrypted: extract it (`unzip`)".to_string()),
        // Cut short, it decodes up to the cut and then fails its check, which tells it.
        Method::DEFLATE => Coding::Deflated { crc, len },
        _ if cut => Coding::Cut,
        // bzip2, zstd and xz members are streams of their own, decoded as files of
        // theirs are.
        Method::STORE | Method::BZIP2 | Method::ZSTD | Method::XZ => Coding::Plain,
        _ => Coding::Unread(format!(
            "compressed by {method}, which why409 does not read inside a zip: extract it (`unzip`)"
        )),
    }
}

/// The extra fields of a zip header (id, size, data, ...), each as its id and data, up to
/// the first that runs past the end.
fn extra_fields(mut extra: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let id = u16::from_le_bytes([*extra.first()?, *extra.get(1)?]);
        let size = usize::from(u16::from_le_bytes([*extra.get(2)?, *extra.get(3)?]));
        let data = extra.get(4..4 + size)?;
        extra = &extra[4 + size..];
        Some((id, data))
    })
}

/// The data of the extra field `id` in a zip header's extra fields.
fn extra_field(extra: &[u8], id: u16) -> Option<&[u8]> {
    extra_fields(extra).find_map(|(this, data)| (this == id).then_some(data))
}

/// A zip file's last modification from its local header, as `zip_modified` reads it from
/// the directory: the first extended timestamp or NTFS time (read by the zip crate's own
/// parsers), in UTC; else the DOS time.
fn local_modified(extra: &[u8], dos_date: u16, dos_time: u16) -> Option<LastModified> {
    use zip::extra_fields::{ExtendedTimestamp, ExtraField, Ntfs};
    let utc = extra_fields(extra).find_map(|(id, data)| {
        let (mut r, len) = (data, u16::try_from(data.len()).ok()?);
        let field = match id {
            0x5455 => ExtraField::ExtendedTimestamp(
                ExtendedTimestamp::try_from_reader(&mut r, len, true).ok()?,
            ),
            0x000a => ExtraField::Ntfs(Ntfs::try_from_reader(&mut r, len).ok()?),
            _ => return None,
        };
        utc_seconds(&field)
    });
    if let Some(seconds) = utc {
        return from_epoch(seconds).map(LastModified::Utc);
    }
    dos_modified(zip::DateTime::try_from_msdos(dos_date, dos_time).ok()?)
}

/// The modification time in UTC seconds that a zip extra field gives: Info-ZIP's extended
/// timestamp (Unix) or an NTFS time (7-Zip, Windows tools).
fn utc_seconds(field: &zip::ExtraField) -> Option<u64> {
    // NTFS file times count 100 ns from 1601-01-01.
    const NTFS_EPOCH_SECONDS: u64 = 11_644_473_600;
    match field {
        zip::ExtraField::ExtendedTimestamp(t) => t.mod_time().map(u64::from),
        zip::ExtraField::Ntfs(t) => (t.mtime() / 10_000_000).checked_sub(NTFS_EPOCH_SECONDS),
        _ => None,
    }
}

/// Microseconds since the epoch of `seconds` since it, if they fit.
fn from_epoch(seconds: u64) -> Option<Micros> {
    Micros::try_from(seconds).ok()?.checked_mul(MICROS_PER_SEC)
}

/// A zip file's last modification: in UTC, its extended timestamp (Info-ZIP on Unix) or NTFS
/// times (7-Zip, Windows tools); or else its DOS time, the archiver's local time.
fn zip_modified<R: Read>(file: &zip::read::ZipFile<'_, R>) -> Option<LastModified> {
    if let Some(seconds) = file.extra_data_fields().find_map(utc_seconds) {
        return from_epoch(seconds).map(LastModified::Utc);
    }
    dos_modified(file.last_modified()?)
}

/// A DOS time, the archiver's local time.
fn dos_modified(t: zip::DateTime) -> Option<LastModified> {
    let days = days_from_civil(
        i64::from(t.year()),
        u32::from(t.month()),
        u32::from(t.day()),
    );
    let seconds = days * 86_400
        + i64::from(t.hour()) * 3600
        + i64::from(t.minute()) * 60
        + i64::from(t.second());
    Some(LastModified::Local(seconds * MICROS_PER_SEC))
}

/// The range of `want` bytes from `start` within `text`, and whether `text` ends before.
fn within(text: &[u8], start: usize, want: usize) -> (Range<usize>, bool) {
    let start = start.min(text.len());
    let end = start.saturating_add(want).min(text.len());
    (start..end, end - start < want)
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

/// Whether the member `m` of `archive` is decoded (deflated in a zip, or a compressed file),
/// not read where it lies.
fn decoded(archive: &Data, m: &Member) -> bool {
    let text = &archive.bytes()[m.range.clone()];
    matches!(m.coding, Coding::Deflated { .. })
        || sniff_compression(&text[..text.len().min(SNIFF)]) != Compression::None
}

/// A member's input: a part of the archive's text, or its text decoded (its compressed
/// bytes noted as `progress` as they are read).
fn open(
    archive: &Arc<Data>,
    m: &Member,
    name: String,
    given: &str,
    spools: &Spools,
    progress: Option<&Arc<Progress>>,
) -> Result<Input> {
    let text = &archive.bytes()[m.range.clone()];
    let part = || Counted {
        inner: Part {
            archive: archive.clone(),
            range: m.range.clone(),
        },
        progress: progress.cloned(),
    };
    let buffer = text.len().clamp(8 << 10, STREAM_BUFFER);
    let (data, damage) = match m.coding {
        Coding::Deflated { crc, len } => {
            let text = Checked::new(DeflateDecoder::new(part()), crc, len);
            spool(text, &name, buffer, spools)?
        }
        // A compressed member is told as its decoder finds it, cut or not.
        _ if decoded(archive, m) => spool(part(), &name, buffer, spools)?,
        _ if text.is_empty() => (Data::Empty, None),
        _ => {
            let cut = (m.coding == Coding::Cut).then(|| Damage {
                decoded: text.len() as u64,
                error: "the archive ends inside this file".to_string(),
                before: None,
            });
            (Data::Part(archive.clone(), m.range.clone()), cut)
        }
    };
    Ok(Input {
        name,
        explicit: false,
        damage,
        archive: Some(given.to_string()),
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

/// A reader of a zip member's text that checks it against the CRC-32 and length the zip
/// gives, at its end: the error then is `compressed::mismatch`'s (the text read is kept, and
/// said to be unverified).
struct Checked<R> {
    inner: R,
    crc: flate2::Crc,
    read: u64,
    want_crc: u32,
    want_len: u64,
}

impl<R: Read> Checked<R> {
    fn new(inner: R, want_crc: u32, want_len: u64) -> Checked<R> {
        Checked {
            inner,
            crc: flate2::Crc::new(),
            read: 0,
            want_crc,
            want_len,
        }
    }
}

impl<R: Read> Read for Checked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc.update(&buf[..n]);
        self.read += n as u64;
        let at_end = n == 0 && !buf.is_empty();
        if at_end && (self.crc.sum() != self.want_crc || self.read != self.want_len) {
            return Err(crate::compressed::mismatch(
                "zip: a file's text does not match its checksum or length",
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timestamp::rfc3339;
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
        unpacked_by(bytes, &mut |_, _| None)
    }

    /// `unpack` of the archives `bytes`, each named `name` by the user: what it gives, and the
    /// warnings.
    fn unpack_named(
        name: &str,
        bytes: &[&[u8]],
        by_date: &mut ByDate,
        progress: Option<&Arc<Progress>>,
    ) -> (Vec<Opened>, Vec<String>) {
        let inputs = (bytes.iter())
            .map(|b| (name.to_string(), true, Input::from_bytes(name, b)))
            .collect();
        let mut warnings = Vec::new();
        let inputs = unpack(inputs, &mut warnings, by_date, progress);
        (inputs, warnings)
    }

    /// `unpacked`, the files read chosen `by_date`.
    fn unpacked_by(bytes: &[u8], by_date: &mut ByDate) -> (Vec<Unpacked>, Vec<String>) {
        assert!(Kind::of(bytes).is_some());
        let (inputs, warnings) = unpack_named("b.tar", &[bytes], by_date, None);
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
            warnings[0].starts_with("b.tar: cannot read the tar archive: ")
                && warnings[0].ends_with("; the file listed before is read"),
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

    /// A zip of `files` (path, text, method), as `zip -r` writes one (deflated) or `zip -0`
    /// (stored).
    fn zip_of(files: &[(&str, &[u8], zip::CompressionMethod)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        for (path, text, method) in files {
            let options = zip::write::SimpleFileOptions::default().compression_method(*method);
            w.start_file(*path, options).unwrap();
            w.write_all(text).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn a_zip_is_read_as_its_files_deflated_stored_or_compressed_inside() {
        use zip::CompressionMethod as M;
        let many = B.repeat(500);
        let zip = zip_of(&[
            ("logs/access.log.10", A, M::DEFLATE),
            ("logs/access.log", &many, M::DEFLATE),
            ("logs/access.log.2.gz", &gzip(B), M::STORE),
            ("logs/access.log.3", A, M::STORE),
            ("__MACOSX/._access.log", b"\0\x05\x16\x07", M::DEFLATE),
        ]);
        let (inputs, warnings) = unpacked(&zip);
        let names: Vec<&str> = inputs.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "b.tar:logs/access.log",
                "b.tar:logs/access.log.2.gz",
                "b.tar:logs/access.log.3",
                "b.tar:logs/access.log.10",
            ]
        );
        let texts: Vec<&[u8]> = inputs.iter().map(|(_, t, _)| t.as_slice()).collect();
        assert!(texts == [&many[..], B, A, A], "the members' texts");
        assert!(inputs.iter().all(|(_, _, d)| d.is_none()));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn a_zip_member_in_a_method_not_read_is_told_and_a_damaged_one_warned_of() {
        use zip::CompressionMethod as M;
        // Lines that differ, so that their deflate data is long.
        let many: Vec<u8> = (0..2000)
            .flat_map(|i| format!("10.0.{}.{} - - [02/Mar/2026:09:00:00 +0000] \"PUT /a/{i} HTTP/1.1\" 409 {i} \"-\" \"-\"\n", i % 7, i % 251).into_bytes())
            .collect();
        let mut zip = zip_of(&[("a.log", &many, M::DEFLATE), ("b.log", A, M::STORE)]);
        // b.log's method, in its local header and in the central directory, made LZMA (14).
        let mut marked = 0;
        for at in 0..zip.len() - 4 {
            let local =
                zip[at..].starts_with(b"PK\x03\x04") && zip[at + 30..].starts_with(b"b.log");
            let central =
                zip[at..].starts_with(b"PK\x01\x02") && zip[at + 46..].starts_with(b"b.log");
            let method = if local { at + 8 } else { at + 10 };
            if local || central {
                zip[method..method + 2].copy_from_slice(&14u16.to_le_bytes());
                marked += 1;
            }
        }
        assert_eq!(marked, 2);
        // a.log's deflate data broken in its middle (it ends where b.log's header starts).
        let b_at = memchr::memmem::find_iter(&zip, b"PK\x03\x04")
            .nth(1)
            .unwrap();
        assert!(b_at > 2000);
        zip[(30 + 5 + b_at) / 2] ^= 0xff;
        let (inputs, warnings) = unpacked(&zip);
        assert_eq!(inputs.len(), 1);
        assert_eq!(inputs[0].0, "b.tar:a.log");
        // Deflate decodes a changed byte to other text, or fails: told either way.
        let damage = inputs[0].2.as_deref().unwrap();
        assert!(
            damage.ends_with("the lines before are analysed as decoded, some perhaps wrong")
                || damage.ends_with("the lines before are analysed, the last one perhaps cut"),
            "{damage}"
        );
        assert_ne!(inputs[0].1, many);
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].starts_with("skipped b.tar:b.log: compressed by ")
                && warnings[0]
                    .ends_with(", which why409 does not read inside a zip: extract it (`unzip`)"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_deflated_zip_member_is_checked_against_its_crc() {
        let mut zip = zip_of(&[("a.log", A, zip::CompressionMethod::DEFLATE)]);
        let (inputs, _) = unpacked(&zip);
        assert_eq!((inputs[0].1.as_slice(), &inputs[0].2), (A, &None));
        // The CRC-32 in the local header (byte 14) and the central directory's (16) changed.
        let central = memchr::memmem::find(&zip, b"PK\x01\x02").unwrap();
        for at in [14, central + 16] {
            zip[at] ^= 1;
        }
        let (inputs, _) = unpacked(&zip);
        assert_eq!(inputs[0].1, A);
        assert_eq!(
            inputs[0].2.as_deref(),
            Some(
                "cannot decode past byte 72 of its text: zip: a file's text does not match its checksum or length; the lines before are analysed as decoded, some perhaps wrong"
            )
        );
    }

    /// A zip cut before its directory (a download stopped) is read by the header before each
    /// file: the files whole, the one cut up to the cut (a deflated one decodes up to it
    /// and fails its check), with a warning that says how it was read.
    #[test]
    fn a_zip_cut_before_its_directory_is_read_by_its_headers() {
        use zip::CompressionMethod as M;
        let many = B.repeat(200);
        for method in [M::STORE, M::DEFLATE] {
            let zip = zip_of(&[("logs/a.log", A, method), ("logs/b.log", &many, method)]);
            // Before its directory, then inside its second file.
            let at_b = zip.windows(10).position(|w| w == b"logs/b.log").unwrap() + 10;
            for (cut, whole) in [(zip.len() - 30, true), (at_b + 100, false)] {
                let (inputs, warnings) =
                    unpack_named("b.zip", &[&zip[..cut]], &mut |_, _| None, None);
                let read: Vec<(&str, &[u8], Option<String>)> = (inputs.iter())
                    .map(|(name, _, inp)| {
                        let inp = inp.as_ref().unwrap();
                        let damage = inp.damage.as_ref().map(|d| d.to_string());
                        (name.as_str(), inp.bytes(), damage)
                    })
                    .collect();
                assert_eq!(read.len(), 2, "{method} {cut}");
                assert_eq!(read[0], ("b.zip:logs/a.log", A, None), "{method} {cut}");
                assert_eq!(read[1].0, "b.zip:logs/b.log");
                assert_eq!(
                    read[1].2.is_none(),
                    whole,
                    "{method} {cut}: {:?}",
                    read[1].2
                );
                if whole {
                    assert_eq!(read[1].1, many.as_slice());
                } else {
                    assert!(
                        !read[1].1.is_empty() && many.starts_with(read[1].1),
                        "{method}"
                    );
                }
                assert_eq!(warnings.len(), 1, "{warnings:?}");
                assert!(
                    warnings[0].starts_with("b.zip: cannot read the zip archive: its directory cannot be read (")
                        && warnings[0].ends_with(
                            "so its files are found by the header before each; the 2 files listed before are read"
                        ),
                    "{warnings:?}"
                );
            }
        }
    }

    /// A zip written as a stream (Java's `ZipOutputStream`, Python's `zipfile` on a pipe)
    /// gives a file's size and CRC-32 only after its data: cut before its directory, a
    /// deflated file's end is found by decoding it, its descriptor's CRC-32 and length
    /// checking it; a stored one's by its descriptor; where neither finds it, the walk stops
    /// there saying why (with no file before it, an error).
    #[test]
    fn a_cut_zip_written_as_a_stream_is_read_by_decoding_to_each_end() {
        use zip::CompressionMethod as M;
        // Lines that differ, so that a cut inside the file leaves some to decode.
        let many: Vec<u8> = (0..2000)
            .flat_map(|i| format!("1.2.3.5 - - [02/Mar/2026:09:00:01 +0000] \"PUT /a/{i} HTTP/1.1\" 409 1 \"-\" \"-\"\n").into_bytes())
            .collect();
        let streamed = |method| {
            let mut w = zip::ZipWriter::new_stream(Vec::new());
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            for (path, text) in [("a.log", A), ("b.log", many.as_slice())] {
                w.start_file(path, options).unwrap();
                w.write_all(text).unwrap();
            }
            w.finish().unwrap().into_inner()
        };
        let zip = streamed(M::DEFLATE);
        assert_eq!(zip[6] & 0x8, 0x8, "written with data descriptors");
        // Whole, it is read by its directory.
        let (inputs, warnings) = unpack_named("s.zip", &[&zip], &mut |_, _| None, None);
        assert_eq!((inputs.len(), warnings.len()), (2, 0), "{warnings:?}");
        let at_b = zip.windows(5).position(|w| w == b"b.log").unwrap() + 5;
        for (cut, whole) in [(zip.len() - 30, true), (at_b + 2000, false)] {
            let (inputs, warnings) = unpack_named("s.zip", &[&zip[..cut]], &mut |_, _| None, None);
            assert_eq!(warnings.len(), 1, "{warnings:?}");
            let read: Vec<(&str, &[u8], bool)> = (inputs.iter())
                .map(|(name, _, inp)| {
                    let inp = inp.as_ref().unwrap();
                    (name.as_str(), inp.bytes(), inp.damage.is_some())
                })
                .collect();
            assert_eq!(read[0], ("s.zip:a.log", A, false));
            assert_eq!((read[1].0, read[1].2), ("s.zip:b.log", !whole), "{cut}");
            assert!(many.starts_with(read[1].1) && (read[1].1.len() == many.len()) == whole);
        }
        // Stored, a file's end is the descriptor that gives its own distance as the size.
        let zip = streamed(M::STORE);
        for (cut, whole) in [(zip.len() - 30, true), (at_b + 2000, false)] {
            let (inputs, warnings) = unpack_named("s.zip", &[&zip[..cut]], &mut |_, _| None, None);
            assert_eq!((inputs.len(), warnings.len()), (2, 1), "{warnings:?}");
            let b = inputs[1].2.as_ref().unwrap();
            assert_eq!(b.damage.is_none(), whole, "{cut}");
            assert!(many.starts_with(b.bytes()) && (b.bytes().len() == many.len()) == whole);
        }
        // Its first descriptor unsigned: where the first file ends cannot be told.
        let first = memchr::memmem::find(&zip, b"PK\x07\x08").unwrap();
        let unsigned = [&zip[..first], &zip[first + 4..zip.len() - 30]].concat();
        let (inputs, warnings) = unpack_named("s.zip", &[&unsigned], &mut |_, _| None, None);
        let [(name, true, Err(e))] = inputs.as_slice() else {
            panic!("one error: {} inputs, {warnings:?}", inputs.len());
        };
        assert_eq!(name, "s.zip");
        let e = e.to_string();
        assert!(
            e.starts_with("s.zip: cannot read the zip archive: its directory cannot be read (")
                && e.ends_with("its data's end was not found (a zip written as a stream)"),
            "{e}"
        );
    }

    /// A zip file's time from its local header is the directory's: the extended timestamp
    /// or NTFS time in UTC, else the DOS time.
    #[test]
    fn local_headers_date_files_as_the_directory_does() {
        let mut extended = vec![0x55, 0x54, 5, 0, 1];
        extended.extend(1_772_442_000u32.to_le_bytes());
        assert_eq!(
            local_modified(&extended, 0, 0),
            Some(LastModified::Utc(1_772_442_000 * MICROS_PER_SEC))
        );
        let mut ntfs = vec![0x0a, 0, 32, 0, 0, 0, 0, 0, 1, 0, 24, 0];
        ntfs.extend(((1_772_442_000u64 + 11_644_473_600) * 10_000_000).to_le_bytes());
        ntfs.extend([0; 16]);
        assert_eq!(
            local_modified(&ntfs, 0, 0),
            Some(LastModified::Utc(1_772_442_000 * MICROS_PER_SEC))
        );
        // 2026-03-02 09:00:00 as DOS date and time.
        let (date, time) = (((2026 - 1980) << 9) | (3 << 5) | 2, 9 << 11);
        assert_eq!(
            local_modified(&[], date, time),
            Some(LastModified::Local(1_772_442_000 * MICROS_PER_SEC))
        );
        // An extra field longer than the extra data: none read, the DOS time taken.
        assert_eq!(
            local_modified(&[0x55, 0x54, 9, 0, 1], date, time),
            Some(LastModified::Local(1_772_442_000 * MICROS_PER_SEC))
        );
    }

    /// A file's period as `by_date` is given it: start, end and what dated it.
    type Dated = (String, Option<(String, String, file_period::Dating)>);

    /// The names and periods `by_date` is asked of for the archive `bytes` (one archive, no
    /// nesting), the names of the files read when it leaves out those that end before 2026-03-02,
    /// and the warnings.
    fn dated(bytes: &[u8]) -> (Vec<Dated>, Vec<String>, Vec<String>) {
        let since = 1_772_409_600 * MICROS_PER_SEC;
        let show = |p: &FilePeriod| {
            let start = (p.start != Micros::MIN).then(|| rfc3339(p.start));
            (start.unwrap_or("-".into()), rfc3339(p.end), p.by)
        };
        let mut asked = Vec::new();
        let (read, warnings) = unpacked_by(bytes, &mut |periods, names| {
            asked.extend(
                (names.iter().zip(periods)).map(|(n, p)| (n.to_string(), p.map(|p| show(&p)))),
            );
            Some(
                periods
                    .iter()
                    .map(|p| p.is_none_or(|p| p.end >= since))
                    .collect(),
            )
        });
        let read = read.into_iter().map(|(name, _, _)| name).collect();
        (asked, read, warnings)
    }

    fn period(
        start: &str,
        end: &str,
        by: file_period::Dating,
    ) -> Option<(String, String, file_period::Dating)> {
        Some((start.to_string(), end.to_string(), by))
    }

    #[test]
    fn tar_members_are_dated_by_their_paths_or_the_times_the_tar_keeps() {
        use file_period::Dating::{CloudFront, CloudLogging, Modified};
        let mut b = tar::Builder::new(Vec::new());
        let files: [(&str, u64); 5] = [
            ("./nginx/access.log", 1_772_445_600),
            ("./nginx/access.log.1", 1_772_323_200),
            // A time wiped to the epoch dates nothing.
            ("./nginx/error.log", 0),
            // The name dates it, not the time kept (a copy's, later).
            ("./s3/2026/03/02/09:00:00_09:59:59_S0.json", 1_772_668_800),
            (
                "./cf/E2EXAMPLE1ABCD.2026-03-01-21.3d8f7d32.gz",
                1_772_668_800,
            ),
        ];
        for (path, mtime) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(A.len() as u64);
            h.set_mode(0o644);
            h.set_mtime(mtime);
            h.set_entry_type(tar::EntryType::Regular);
            append(&mut b, &mut h, path, A);
        }
        let (asked, read, warnings) = dated(&b.into_inner().unwrap());
        let named = |p: &str| format!("b.tar:{p}");
        assert_eq!(
            asked,
            vec![
                (
                    named("./cf/E2EXAMPLE1ABCD.2026-03-01-21.3d8f7d32.gz"),
                    period("2026-03-01T21:00:00Z", "2026-03-01T22:00:00Z", CloudFront)
                ),
                (
                    named("./nginx/access.log"),
                    period("-", "2026-03-02T10:00:00Z", Modified)
                ),
                (
                    named("./nginx/access.log.1"),
                    period("-", "2026-03-01T00:00:00Z", Modified)
                ),
                (named("./nginx/error.log"), None),
                (
                    named("./s3/2026/03/02/09:00:00_09:59:59_S0.json"),
                    period("2026-03-02T09:00:00Z", "2026-03-02T10:00:00Z", CloudLogging)
                ),
            ]
        );
        // Those left out are not opened: the `.gz` that is no gzip is not even tried.
        assert_eq!(
            read,
            [
                "./nginx/access.log",
                "./nginx/error.log",
                "./s3/2026/03/02/09:00:00_09:59:59_S0.json"
            ]
            .map(named)
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn zip_members_are_dated_in_utc_or_a_day_after_their_local_time() {
        use file_period::Dating::{Modified, ModifiedLocal};
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let dos = |y, mo, d, h| zip::DateTime::from_date_and_time(y, mo, d, h, 0, 0).unwrap();
        // Info-ZIP's extended timestamp, in UTC (its DOS time says otherwise).
        let options = SimpleFileOptions::default().last_modified_time(dos(2026, 1, 1, 0));
        let unix = options.with_extended_timestamp(Some(1_772_445_600), None, None);
        w.start_file("unix.log", unix.unwrap()).unwrap();
        w.write_all(A).unwrap();
        // NTFS times (100 ns since 1601), as 7-Zip writes.
        let ntfs = options.with_ntfs_times(134_169_192_000_000_000, 0, 0);
        w.start_file("ntfs.log", ntfs.unwrap()).unwrap();
        w.write_all(A).unwrap();
        // Only a DOS time, the archiver's local time: UTC is at most a day later.
        w.start_file(
            "dos.log",
            SimpleFileOptions::default().last_modified_time(dos(2026, 3, 1, 9)),
        )
        .unwrap();
        w.write_all(A).unwrap();
        w.start_file(
            "old.log",
            SimpleFileOptions::default().last_modified_time(dos(2026, 2, 27, 9)),
        )
        .unwrap();
        w.write_all(A).unwrap();
        let zip = w.finish().unwrap().into_inner();
        let (asked, read, warnings) = dated(&zip);
        assert_eq!(
            asked,
            vec![
                (
                    "b.tar:dos.log".to_string(),
                    period("-", "2026-03-02T09:00:00Z", ModifiedLocal)
                ),
                (
                    "b.tar:ntfs.log".to_string(),
                    period("-", "2026-03-02T10:00:00Z", Modified)
                ),
                (
                    "b.tar:old.log".to_string(),
                    period("-", "2026-02-28T09:00:00Z", ModifiedLocal)
                ),
                (
                    "b.tar:unix.log".to_string(),
                    period("-", "2026-03-02T10:00:00Z", Modified)
                ),
            ]
        );
        assert_eq!(read, ["b.tar:dos.log", "b.tar:ntfs.log", "b.tar:unix.log"]);
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn the_bytes_of_files_decoded_are_counted_as_progress() {
        let gz = gzip(A);
        let progress = Arc::new(Progress::default());
        let unpack_with_progress = |archives: &[&[u8]]| {
            unpack_named("b", archives, &mut |_, _| None, Some(&progress))
                .0
                .len()
        };
        // Files read where they lie take no time to decode: no stage of its own.
        assert_eq!(
            unpack_with_progress(&[&tar_of(&[("a.log", A), ("b.log", B)])]),
            2
        );
        assert_eq!(progress.get(), (Stage::Opening, 0, 0));
        // Each archive's files add to the stage's total as it is listed.
        let tar = tar_of(&[("a.log", A), ("b.log.gz", &gz), ("c.log.gz", &gz)]);
        let zip = zip_of(&[("a.log", A, zip::CompressionMethod::DEFLATE)]);
        let deflated = {
            let mut a = zip::ZipArchive::new(io::Cursor::new(&zip)).unwrap();
            a.by_index_raw(0).unwrap().compressed_size()
        };
        assert_eq!(unpack_with_progress(&[&tar, &zip]), 4);
        let n = 2 * gz.len() as u64 + deflated;
        assert_eq!(progress.get(), (Stage::Unpacking, n, n));
    }

    #[test]
    fn archives_are_told_by_their_names() {
        for name in [
            "logs.tar",
            "b.TGZ",
            "d/logs.tar.gz",
            "logs.tar.lz4",
            "x.tzst",
            "W3SVC1.zip",
        ] {
            assert!(archive_name(Path::new(name)), "{name}");
        }
        for name in [
            "access.log",
            "access.log.2.gz",
            "tar",
            "zip.log",
            "b.tar/access.log",
        ] {
            assert!(!archive_name(Path::new(name)), "{name}");
        }
    }

    #[test]
    fn hidden_parts() {
        assert!(hidden(".git/config"));
        assert!(hidden("logs/._access.log"));
        assert!(!hidden("logs/access.log"));
        assert!(!hidden("../logs/access.log"));
    }
}
