//! Inputs: each path's text, memory-mapped, decoded or spooled. The paths named are expanded
//! into files in `paths`; texts are cut into chunks and lines in `lines`.
//!
//! Plain files are memory-mapped. Compressed files (`.gz`, multi-member as logrotate writes
//! them; `.zst`; `.bz2`, `.xz` and `.lz4`, multi-stream) and stdin are decoded once into an unlinked temporary file that is then
//! mapped, so every input can be read twice (the conflict scan, then the pass) and gives the same
//! report as the plain file, with memory use independent of the input size. Small texts
//! (S3-delivered ALB and CloudFront logs come as thousands of small `.gz` files) are kept in
//! memory instead, up to a total (`IN_MEMORY_BUDGET`). The temporary files are shared
//! (`Spools`): a process may hold only so many maps. A regular `.gz` file of a bounded text
//! is decoded whole (`gunzip_file`: a third faster than a stream, when it is small or one
//! of many), the rest as a stream. A tar or zip archive is read as the files it holds
//! (`bundle`).

use crate::compressed;
use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use memmap2::Mmap;
use pipe::{Moved, Pipe, Stream};
use room::{Room, Watched};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

mod bundle;
mod lines;
mod paths;
mod pipe;
mod room;
pub use bundle::{ByDate, Opened, archive_name, unpack};
pub use lines::{
    DETECT_SPAN, Lines, MAX_LINE, chunks, first_text_line, head_lines, lines, lines_after,
};
use paths::natural_cmp;
pub use paths::{ToRead, drop_repeats, expand};

/// One log input, readable as bytes.
pub struct Input {
    /// As the user named it (`-` for stdin), or the path found inside a directory.
    pub name: String,
    /// Whether the user named this file directly (errors are fatal) or it was found inside a
    /// directory (an unreadable or non-log file is skipped with a warning).
    pub explicit: bool,
    /// Why a compressed input or stream ends early (truncated or corrupt data, or bytes
    /// after its end): its text is what decoded before, and the analysis warns.
    pub damage: Option<Damage>,
    /// For a file inside an archive (`bundle`), the archive as the user named it, or found
    /// it in a directory: what to give why409 to read the file again.
    pub archive: Option<String>,
    data: Data,
}

/// Where and why the decoding of a compressed input stopped before its data's end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// The bytes of text decoded before.
    pub decoded: u64,
    /// What is wrong, in words, with the format's name (`bzip2: block CRC mismatch …`).
    pub error: String,
    /// What the error says of the text before it, if more than that it stops there: whole
    /// (the error is of bytes after the end), or decoded against its checksum.
    pub before: Option<compressed::Before>,
}

impl Damage {
    /// Whether the text is whole: what stopped the decoding lies after the end of the
    /// compressed data.
    pub fn whole(&self) -> bool {
        self.before == Some(compressed::Before::Whole)
    }

    /// The error `msg` of an input this damage may explain, ended with where its text stops
    /// (unless the text is whole): an error ends the run with the damage warning unseen, and
    /// a text cut short may be too short to tell.
    pub fn explaining(damage: Option<&Damage>, msg: String) -> String {
        match damage {
            Some(d) if !d.whole() => format!(
                "{msg}; its data is damaged: its text stops at byte {} ({})",
                d.decoded, d.error
            ),
            _ => msg,
        }
    }
}

impl std::fmt::Display for Damage {
    /// The warning.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Damage { decoded, error, .. } = self;
        let lines = match self.before {
            // As `zcat` and `bzcat` warn of "trailing garbage" after printing all the text.
            Some(compressed::Before::Whole) => {
                return write!(
                    f,
                    "{error}; they are ignored, and all of its text ({decoded} bytes) is analysed"
                );
            }
            Some(compressed::Before::Unverified) => " as decoded, some perhaps wrong",
            None => ", the last one perhaps cut",
        };
        write!(
            f,
            "cannot decode past byte {decoded} of its text: {error}; the lines before are analysed{lines}"
        )
    }
}

enum Data {
    Empty,
    Mapped(Mmap),
    /// A small text kept in memory, counted in its budget (`IN_MEMORY`) while it lives.
    Owned(Vec<u8>, &'static AtomicUsize),
    /// A text written to a shared temporary file (`Spools`), not yet mapped: only between
    /// `open` and `Spools::seal`, which gives every input its text.
    Spooled {
        file: usize,
        range: Range<u64>,
    },
    /// A text in a shared temporary file's map.
    Shared(Arc<Mmap>, Range<usize>),
    /// A part of another input's text: a file inside a tar or zip archive (`bundle`).
    Part(Arc<Data>, Range<usize>),
}

impl Data {
    /// A text kept in memory, whose room `budget` has given (`reserve`).
    fn kept(mut text: Vec<u8>, budget: &'static AtomicUsize) -> Data {
        if text.is_empty() {
            return Data::Empty;
        }
        text.shrink_to_fit();
        Data::Owned(text, budget)
    }

    fn bytes(&self) -> &[u8] {
        match self {
            Data::Empty => &[],
            Data::Mapped(m) => m,
            Data::Owned(v, _) => v,
            Data::Shared(m, range) => &m[range.clone()],
            Data::Part(d, range) => &d.bytes()[range.clone()],
            // `open` returns no input whose text is not sealed (`Spools::seal`).
            Data::Spooled { .. } => unreachable!("an input read before its text was sealed"),
        }
    }
}

impl Drop for Data {
    fn drop(&mut self) {
        if let Data::Owned(v, budget) = self {
            budget.fetch_sub(v.len(), Ordering::Relaxed);
        }
    }
}

/// A decoded text up to this size is kept in memory rather than in a temporary file: for a
/// small input (a five-minute ALB file from S3 decodes to a few hundred kilobytes) creating
/// the file, mapping it and starting a decoding thread cost more than decoding it (ten
/// thousand 5 KB `.gz` files: 1.9-3.6 s to open, most of it in the kernel).
const IN_MEMORY_MAX: usize = 1 << 20;

/// The decoded texts kept in memory at once stay under this many bytes; past it, inputs go
/// to temporary files as large ones do, so memory stays bounded whatever the number of
/// inputs.
const IN_MEMORY_BUDGET: usize = 64 << 20;

/// Bytes of decoded text kept in memory now (`Data::Owned`).
static IN_MEMORY: AtomicUsize = AtomicUsize::new(0);

/// Takes `n` bytes of `budget` (a total of at most `IN_MEMORY_BUDGET`), if they are left.
fn reserve(budget: &'static AtomicUsize, n: usize) -> bool {
    budget
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
            (used + n <= IN_MEMORY_BUDGET).then_some(used + n)
        })
        .is_ok()
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

impl Input {
    /// The text of the input, without a leading UTF-8 byte order mark: IIS writes one
    /// before its `#Software` directive, and on the first line it made the directive a
    /// request with a bad time (or the first `#Fields` layout no layout), and a client's
    /// address start with three invisible bytes.
    pub fn bytes(&self) -> &[u8] {
        let all = self.all_bytes();
        all.strip_prefix(UTF8_BOM).unwrap_or(all)
    }

    /// The size of the input as read (decoded, byte order mark included): what `wc -c` on
    /// the file (or on its decompressed text) says.
    pub fn size(&self) -> u64 {
        self.all_bytes().len() as u64
    }

    fn all_bytes(&self) -> &[u8] {
        self.data.bytes()
    }

    /// Builds an input from bytes in memory (tests, benches).
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Input> {
        let mut f = tempfile::tempfile().context("creating a temporary file")?;
        f.write_all(bytes)?;
        Ok(Input {
            name: name.to_string(),
            explicit: true,
            damage: None,
            archive: None,
            data: map_file(&f, name)?,
        })
    }
}

/// Compression recognised by magic bytes (not by extension, so a renamed file still works).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Bzip2,
    Xz,
    Lz4,
}

impl Compression {
    /// The compression a file's name says (`.gz`, `.zst`, `.bz2`, `.xz`, `.lz4`, in any
    /// case): for what only a name is known of, a file to write or a size to guess before
    /// opening. Reading goes by the magic bytes (`sniff_compression`).
    pub fn by_name(path: &Path) -> Compression {
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        match ext.to_ascii_lowercase().as_str() {
            "gz" => Compression::Gzip,
            "zst" => Compression::Zstd,
            "bz2" => Compression::Bzip2,
            "xz" => Compression::Xz,
            "lz4" => Compression::Lz4,
            _ => Compression::None,
        }
    }
}

/// The bytes of a stream's start that `sniff_compression` is given: room for the skippable
/// frames `pzstd` writes before each zstd frame (12 bytes) and the magic after one.
const SNIFF: usize = 32;

/// The magic numbers of a skippable frame, which zstd and LZ4 share (`50..5F 2A 4D 18`), and
/// how long it is: 8 bytes of header and the length the header gives.
fn skippable_frame(head: &[u8]) -> Option<usize> {
    match head {
        [m, 0x2a, 0x4d, 0x18, a, b, c, d, ..] if m & 0xf0 == 0x50 => {
            Some(8 + u32::from_le_bytes([*a, *b, *c, *d]) as usize)
        }
        _ => None,
    }
}

pub fn sniff_compression(head: &[u8]) -> Compression {
    if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else if head.len() >= 4 && head.starts_with(b"BZh") && (b'1'..=b'9').contains(&head[3]) {
        Compression::Bzip2
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X']) {
        // `FD 37 7A 58 5A 00`: the first four are sniffed (no text starts with 0xFD).
        Compression::Xz
    } else if head.starts_with(&[0x04, 0x22, 0x4d, 0x18])
        || head.starts_with(&[0x02, 0x21, 0x4c, 0x18])
    {
        // An LZ4 frame, or the legacy format (`lz4 -l`).
        Compression::Lz4
    } else if let Some(len) = skippable_frame(head) {
        // Skippable frames (`pzstd` writes one before each frame) are zstd's or LZ4's: the
        // frame after them says which. Where it lies past the head, zstd (whose decoder
        // would say so if it were not).
        match head.get(len..).map(sniff_compression) {
            Some(Compression::Lz4) => Compression::Lz4,
            _ => Compression::Zstd,
        }
    } else {
        Compression::None
    }
}

/// What a text that is an archive, or data in a compression why409 does not decode, is, and
/// what to run instead: why409 reads logs, and read as one, a 7-Zip of a rotated set would
/// count its files' lines in one input. (A tar or a zip is read as its files, `bundle`: one
/// here is nested deeper than that reads.) `None` for anything else. `text` is an input's
/// text (decoded, if it was compressed).
pub fn not_a_log(text: &[u8]) -> Option<&'static str> {
    let starts = |magic: &[u8]| text.starts_with(magic);
    if tar_header(text) {
        Some("a tar archive: extract it (`tar xf`) and give why409 its files or directory")
    } else if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") {
        Some("a zip archive: extract it (`unzip`) and give why409 its files or directory")
    } else if starts(b"7z\xbc\xaf\x27\x1c") {
        Some("a 7-Zip archive: extract it (`7z x`) and give why409 its files or directory")
    } else if starts(b"Rar!\x1a\x07") {
        Some("a RAR archive: extract it and give why409 its files or directory")
    } else if starts(&[0x1f, 0x9d]) {
        Some(
            "compressed by compress(1) (`.Z`), which why409 does not decode: `gzip -dc FILE | why409 -`",
        )
    } else if starts(b"LZIP") {
        Some("compressed by lzip, which why409 does not decode: `lzip -dc FILE | why409 -`")
    } else if starts(&[0x5d, 0x00, 0x00]) {
        Some("compressed by LZMA (`.lzma`), which why409 does not decode: `xz -dc FILE | why409 -`")
    } else if utf16(text) {
        Some(
            "UTF-16 text (as Windows PowerShell's `>` writes it), which why409 does not read: `iconv -f UTF-16 -t UTF-8 FILE | why409 -`",
        )
    } else {
        None
    }
}

/// Whether `text` is UTF-16: its byte order mark, or (little-endian, unmarked) ASCII
/// characters each followed by a zero byte.
fn utf16(text: &[u8]) -> bool {
    match text {
        [0xff, 0xfe, ..] | [0xfe, 0xff, ..] => true,
        [a, 0, b, 0, ..] => a.is_ascii_graphic() && b.is_ascii_graphic(),
        _ => false,
    }
}

/// Whether `text` begins with a tar header: POSIX (`ustar\0`) and GNU (`ustar  \0`) tar put
/// their magic at byte 257 (the old v7 format, `tar --format=v7`, none: there its header
/// has a file name ended by a zero byte, which no text has, and an octal mode), and the
/// header's checksum (octal, at byte 148) is the sum of its bytes, the checksum's own eight
/// counted as spaces (so that a log with "ustar" there is not taken for one).
fn tar_header(text: &[u8]) -> bool {
    let Some(header) = text.get(..512) else {
        return false;
    };
    // Octal digits, padded with spaces or ended by a zero byte.
    let octal = |field: &[u8]| {
        field[0] != 0
            && field.iter().any(|b| (b'0'..=b'7').contains(b))
            && field.iter().all(|b| matches!(b, b'0'..=b'7' | b' ' | 0))
    };
    let v7 = || header[0] != 0 && header[..100].contains(&0) && octal(&header[100..108]);
    if &header[257..262] != b"ustar" && !v7() {
        return false;
    }
    let field = &header[148..156];
    let digits = field.iter().skip_while(|&&b| b == b' ');
    let digits = digits.take_while(|b| (b'0'..=b'7').contains(b));
    let stored = digits.fold(0u32, |n, &b| n * 8 + u32::from(b - b'0'));
    let bytes = |b: &[u8]| b.iter().map(|&b| u32::from(b)).sum::<u32>();
    stored == bytes(header) - bytes(field) + 8 * u32::from(b' ')
}

fn map_file(f: &File, name: &str) -> Result<Data> {
    Ok(map(f, name)?.map_or(Data::Empty, Data::Mapped))
}

/// The map of `f`; `None` when it is empty (an empty map is an error on some systems).
fn map(f: &File, name: &str) -> Result<Option<Mmap>> {
    let len = f
        .metadata()
        .with_context(|| format!("{name}: cannot stat"))?
        .len();
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: the map is read-only; a file truncated by another process while we read it
    // can raise SIGBUS, the same trade-off ripgrep makes for speed on log files at rest.
    // No `populate`: mapping every page up front is one serial pass over the file before
    // parsing starts (0.1 s per GiB measured), while faults taken by the parsing threads
    // overlap (the kernel maps pages around each fault, and `Sequential` reads ahead).
    let m = unsafe { memmap2::MmapOptions::new().map(f) }
        .with_context(|| format!("{name}: cannot memory-map"))?;
    #[cfg(unix)]
    {
        let _ = m.advise(memmap2::Advice::Sequential);
    }
    Ok(Some(m))
}

/// At most this many inputs are mapped each to itself; later ones are copied into the
/// shared temporary files (`Spools`). Linux lets a process hold `vm.max_map_count` maps
/// (65,530 by default), the allocator's and the threads' included: a directory of 135,000
/// small files, a map each past the in-memory budget, ran out of them, and the allocator
/// failed with them.
const MAX_MAPPED: usize = 16_384;

/// Where the temporary file of a text is, for the errors: TMPDIR (else /tmp) may be a small
/// tmpfs.
fn in_tmp() -> String {
    let dir = std::env::temp_dir();
    format!("in {} (TMPDIR chooses where)", dir.display())
}

/// The shared temporary files of the texts that get no map of their own: decoded text too
/// large to keep in memory (or past the memory budget), stdin and pipes, small files past
/// the budget, and plain files once `MAX_MAPPED` inputs are mapped. Each thread that opens
/// inputs appends to a file of its own, made when first needed; each file is mapped once,
/// when every input is open (`seal`). A map an input ran out of maps on thousands of
/// inputs, and each temporary file cost an `open` in the kernel (~170 µs here).
pub struct Spools {
    files: Vec<Mutex<Option<SpoolFile>>>,
    /// Each thread's buffer for a text decoded whole (`with_buffer`), their total size,
    /// and the most it may be (`BUFFERS_BUDGET`).
    buffers: Vec<Mutex<Vec<u8>>>,
    buffered: AtomicUsize,
    buffers_budget: usize,
    /// Gzip texts decoded whole so far (the others were streamed).
    decoded_whole: AtomicUsize,
    /// The threads an `.xz` or `.bz2` text is decoded on.
    decoder_threads: usize,
    /// Inputs mapped each to itself so far, and how many may be.
    mapped: AtomicUsize,
    max_mapped: usize,
    /// The watch each file starts with on the room left on its disk (`room`).
    room: Room,
}

struct SpoolFile {
    file: File,
    len: u64,
    room: Room,
}

impl Default for Spools {
    fn default() -> Spools {
        Spools::with_max_mapped(MAX_MAPPED)
    }
}

impl Spools {
    /// The spools for opening `inputs`: large `.gz` texts among them are decoded whole only
    /// when there are at least `WHOLE_AMONG` of these files for each thread. Decoding whole
    /// (libdeflate) takes a third less time than the stream decoder (zlib-rs), but a stream
    /// is decoded on one core while its text is written out on another, and a thread's
    /// buffer is faulted in anew for its first file: one 128 MiB rotated log opens in 0.17 s
    /// streamed and 0.24 s whole, two in 0.29 s against 0.33 s, eight (two threads) in
    /// 1.12 s against 1.04 s, sixty-four of 16 MiB in 1.28 s against 0.97 s.
    ///
    /// An `.xz` or `.bz2` text (decoded at 60-200 MB/s a thread, where gzip's is 1 GB/s) is
    /// decoded on the threads left to it: all of them for one file, one each when there are
    /// as many such files as threads (they are opened side by side).
    pub fn for_inputs<'a>(inputs: impl IntoIterator<Item = &'a Path>) -> Spools {
        let (mut gz, mut slow) = (0, 0);
        for path in inputs {
            let ext = path.extension().unwrap_or_default();
            let is = |e: &str| ext.eq_ignore_ascii_case(e);
            gz += usize::from(is("gz"));
            slow += usize::from(["xz", "txz", "bz2", "tbz2", "tbz"].into_iter().any(is));
        }
        let threads = rayon::current_num_threads();
        let many = gz >= WHOLE_AMONG * threads;
        Spools {
            buffers_budget: if many { buffers_budget() } else { 0 },
            decoder_threads: (threads / slow.max(1)).max(1),
            ..Spools::default()
        }
    }

    fn with_max_mapped(max_mapped: usize) -> Spools {
        // A file and a decoding buffer for each thread of the pool opening the inputs, and one
        // of each for any other (`own`).
        let files = (0..=rayon::current_num_threads()).map(|_| Mutex::new(None));
        let buffers = (0..=rayon::current_num_threads()).map(|_| Mutex::new(Vec::new()));
        Spools {
            files: files.collect(),
            buffers: buffers.collect(),
            buffered: AtomicUsize::new(0),
            buffers_budget: buffers_budget(),
            decoded_whole: AtomicUsize::new(0),
            decoder_threads: rayon::current_num_threads(),
            mapped: AtomicUsize::new(0),
            max_mapped,
            room: Room::default(),
        }
    }

    /// Takes one of the inputs that may be mapped each to itself, if one is left.
    fn take_map(&self) -> bool {
        self.mapped
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < self.max_mapped).then_some(n + 1)
            })
            .is_ok()
    }

    /// The number of this thread's file and decoding buffer: a pool thread's own, or the
    /// one for any other thread.
    fn own(&self) -> usize {
        let k = rayon::current_thread_index().map_or(0, |i| i + 1);
        k.min(self.files.len() - 1)
    }

    /// Appends the text `write` writes to this thread's file, its disk's room watched
    /// (`room`); returns its place and what `write` returned. After an error the file is
    /// cut back to where it was, so the texts after it stay where they are said to be.
    fn append<T>(
        &self,
        name: &str,
        write: impl FnOnce(&mut Watched) -> io::Result<T>,
    ) -> Result<(Data, T)> {
        let k = self.own();
        let mut slot = self.files[k].lock().unwrap_or_else(|e| e.into_inner());
        let spool = match &mut *slot {
            Some(s) => s,
            None => {
                let file = tempfile::tempfile().with_context(|| {
                    format!(
                        "{name}: cannot create a temporary file for its text {}",
                        in_tmp()
                    )
                })?;
                slot.insert(SpoolFile {
                    file,
                    len: 0,
                    room: self.room,
                })
            }
        };
        let start = spool.len;
        let mut out = Watched::new(&mut spool.file, &mut spool.room);
        let written = write(&mut out).and_then(|t| Ok((t, spool.file.stream_position()?)));
        match written {
            Ok((t, end)) => {
                spool.len = end;
                Ok((
                    Data::Spooled {
                        file: k,
                        range: start..end,
                    },
                    t,
                ))
            }
            Err(e) => {
                let copied = spool.file.stream_position().map(|end| end - start);
                let _ = spool.file.set_len(start);
                let _ = spool.file.seek(io::SeekFrom::Start(start));
                if let Some(stop) = room::no_room(&e) {
                    bail!(
                        "{name}: stopped copying its text to a temporary file {} after {}: {stop}",
                        in_tmp(),
                        room::size(copied.unwrap_or(0))
                    );
                }
                Err(e).with_context(|| {
                    format!(
                        "{name}: cannot copy its text to a temporary file (a read or write error) {}",
                        in_tmp()
                    )
                })
            }
        }
    }

    /// This thread's decoding buffer, all of it, at least `len` bytes long, for `act`; `None`
    /// when making it that long would take the buffers past their budget. It is kept for the
    /// thread's next input (a fresh one for each file, faulted in anew, cost as much as
    /// decoding whole saves: eight 128 MiB logs, 0.45 s more system time) and freed with
    /// the spools, once every input is open.
    fn with_buffer<T>(&self, len: usize, act: impl FnOnce(&mut [u8]) -> T) -> Option<T> {
        let mut buf = self.buffers[self.own()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if buf.len() < len {
            // Rounded up, so that the next log of a rotated set, a little longer, fits too.
            let size = len.next_multiple_of(BUFFER_STEP);
            let more = size - buf.len();
            (self.buffered)
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                    (used + more <= self.buffers_budget).then_some(used + more)
                })
                .ok()?;
            // A mapped block grows in place (`mremap`), its pages kept.
            buf.resize(size, 0);
        }
        Some(act(&mut buf))
    }

    /// Maps each file once and gives every input written to one its text; an input whose
    /// file cannot be mapped is an error that says why.
    pub fn seal(self, inputs: Vec<Result<Input>>) -> Vec<Result<Input>> {
        let maps: Vec<Option<Result<Arc<Mmap>, String>>> = (self.files.into_iter())
            .map(|slot| {
                let spool = slot.into_inner().unwrap_or_else(|e| e.into_inner())?;
                if spool.len == 0 {
                    return None;
                }
                Some(match map(&spool.file, "its temporary file") {
                    Ok(Some(m)) => Ok(Arc::new(m)),
                    Ok(None) => Err("its temporary file is empty".to_string()),
                    Err(e) => Err(format!("{e:#}")),
                })
            })
            .collect();
        (inputs.into_iter())
            .map(|input| {
                let mut input = input?;
                if let Data::Spooled { file, range } = &input.data {
                    let range = range.start as usize..range.end as usize;
                    let data = match &maps[*file] {
                        _ if range.is_empty() => Data::Empty,
                        Some(Ok(m)) => Data::Shared(m.clone(), range),
                        Some(Err(e)) => bail!("{}: {e}", input.name),
                        None => unreachable!("a text in a file not written to"),
                    };
                    input.data = data;
                }
                Ok(input)
            })
            .collect()
    }
}

/// A gzip file whose text is at most this long is decoded whole (`gunzip_file`), larger
/// ones as a stream: the whole text is in memory while it is written out.
const WHOLE_MAX: usize = 256 << 20;

/// A decoding buffer's size is a multiple of this.
const BUFFER_STEP: usize = 16 << 20;

/// Large `.gz` texts are decoded whole when there are at least this many such files for
/// each thread opening them (`Spools::for_inputs`), else streamed.
const WHOLE_AMONG: usize = 2;

/// The decoding buffers of all threads (`Spools::with_buffer`) stay under this many bytes
/// (two threads each decoding a rotated log of up to `WHOLE_MAX` bytes of text), and under
/// a sixteenth of the memory this process may use (`buffers_budget`).
const BUFFERS_BUDGET: usize = 2 * WHOLE_MAX;

/// The decoding buffers' budget here: `BUFFERS_BUDGET`, or a sixteenth of the memory this
/// process may use if that is less (a 4 GiB machine or container: 256 MiB), so that a small
/// one streams its larger logs instead.
fn buffers_budget() -> usize {
    let sixteenth = crate::memory::available().map(|m| m / 16);
    let sixteenth = sixteenth.map_or(usize::MAX, |m| usize::try_from(m).unwrap_or(usize::MAX));
    BUFFERS_BUDGET.min(sixteenth)
}

/// A regular gzip file decoded whole (`gunzip`), a third faster than a stream: into memory
/// when its text is small and the budget has room, else into the thread's decoding buffer
/// (when there are many such files: `Spools::for_inputs`) and from there into a temporary
/// file. `None` when it is not decoded so (a text larger than `WHOLE_MAX` or than the
/// trailer says, damaged data, the buffers' budget spent or none): the stream decoder then
/// reads it, keeps the text before any damage and says why.
fn gunzip_file(f: &File, len: u64, name: &str, spools: &Spools) -> Option<Result<Data>> {
    use crate::gunzip::{Decoded, Gunzip, size_hint};
    // A file past `IN_MEMORY_MAX` holds at least about as much text (gzip adds a few bytes
    // to text it cannot compress): only a decoding buffer could take it, and there is none
    // when the files are few (`Spools::for_inputs`). Streamed then, without a map.
    if len > IN_MEMORY_MAX as u64 && spools.buffers_budget == 0 {
        return None;
    }
    let (read, mapped);
    // A small file read (thousands of small files: a map each costs more), a large one mapped.
    let gz: &[u8] = if len <= IN_MEMORY_MAX as u64 {
        read = read_at_start(f, len)?;
        &read
    } else {
        mapped = map(f, name).ok()??;
        &mapped
    };
    // The trailer's size is the last member's, modulo 4 GiB: a text longer than it says
    // (more members, or past 4 GiB) fits only in the room a buffer has past it (it is
    // rounded up to `BUFFER_STEP`), else is streamed.
    let hint = size_hint(gz).filter(|&n| n > 0 && n <= WHOLE_MAX)?;
    let mut gunzip = Gunzip::new()?;
    if hint <= IN_MEMORY_MAX && reserve(&IN_MEMORY, hint) {
        let mut text = vec![0u8; hint];
        let got = gunzip.members(gz, &mut text);
        IN_MEMORY.fetch_sub(hint, Ordering::Relaxed);
        match got {
            Decoded::Text(n) if reserve(&IN_MEMORY, n) => {
                text.truncate(n);
                spools.decoded_whole.fetch_add(1, Ordering::Relaxed);
                return Some(Ok(Data::kept(text, &IN_MEMORY)));
            }
            // More members than the last one's size: a buffer's room may hold them.
            Decoded::NoRoom => {}
            _ => return None,
        }
    }
    let written = spools.with_buffer(hint, |buf| match gunzip.members(gz, buf) {
        Decoded::Text(n) => {
            spools.decoded_whole.fetch_add(1, Ordering::Relaxed);
            Some(spools.append(name, |out| {
                for piece in buf[..n].chunks(WRITE_PIECE) {
                    out.write_all(piece)?;
                }
                Ok(())
            }))
        }
        _ => None,
    });
    Some(written??.map(|(data, ())| data))
}

/// The first `len` bytes of `f` (a small file), read from its start without moving its
/// offset; `None` on a read error or a file now shorter.
fn read_at_start(f: &File, len: u64) -> Option<Vec<u8>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        let mut v = vec![0u8; usize::try_from(len).ok()?];
        f.read_exact_at(&mut v, 0).ok()?;
        Some(v)
    }
    #[cfg(not(unix))]
    {
        let _ = (f, len);
        None
    }
}

/// The read buffer of a decoder of a stream or a large file.
const STREAM_BUFFER: usize = 1 << 20;

/// The most memory an xz stream may ask its decoder for (its dictionary, mostly): `xz -9`
/// needs 65 MiB; a file that asks for more (a custom dictionary past 1 GiB, or a hostile
/// one) is an error that says so rather than a process that takes what it asks.
const XZ_MEMORY_LIMIT: u64 = 1 << 30;

/// The largest window a zstd frame may ask its decoder for: 1 GiB, as for xz. libzstd's
/// default, 128 MiB, refuses logs compressed with `zstd --long` (28 and past); the window
/// held is no larger than the frame's text.
const ZSTD_WINDOW_LOG_MAX: u32 = 30;

/// Size of the blocks decoded input is handed over in.
const SPOOL_BLOCK: usize = 4 << 20;
/// Blocks in flight between the decoding thread and the writer: bounds memory use at
/// about `(SPOOL_DEPTH + 2) * SPOOL_BLOCK` whatever the input size.
const SPOOL_DEPTH: usize = 3;
/// Decoded blocks are written to the spool file in pieces of this size: on Linux/ext4
/// writes of a few MiB cost 5-10x the kernel time of 256 KiB ones (1 GiB: ~3 s against
/// ~0.3 s of system time, seen with `dd bs=4M` against `bs=256K` on the test machine).
const WRITE_PIECE: usize = 256 << 10;

/// Fills `buf` from `r` as far as it goes; returns how many bytes were read (short only at
/// the end of the stream) and the error that ended it early, if one did.
fn fill(r: &mut impl Read, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (n, Some(e)),
        }
    }
    (n, None)
}

/// Copies `r` into `out`: one thread decodes into large blocks while this one writes them,
/// so decompression and the copy into the page cache overlap. Returns the bytes copied and
/// the read (decoding) error that ended the copy early, if one did: what decoded before it
/// is in `out`. A write error is the `Err`.
fn pipe_to(r: impl Read + Send, out: &mut impl Write) -> io::Result<(u64, Option<io::Error>)> {
    use std::sync::mpsc::sync_channel;
    let (full_tx, full_rx) = sync_channel::<(Vec<u8>, usize, Option<io::Error>)>(SPOOL_DEPTH);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(SPOOL_DEPTH + 1);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut r = r;
            loop {
                let mut buf = empty_rx
                    .try_recv()
                    .unwrap_or_else(|_| vec![0u8; SPOOL_BLOCK]);
                let (n, err) = fill(&mut r, &mut buf);
                let done = err.is_some() || n < buf.len();
                if full_tx.send((buf, n, err)).is_err() || done {
                    return;
                }
            }
        });
        // Owned here so an early return (a write error) drops it and unblocks the decoder.
        let full_rx = full_rx;
        let mut total = 0u64;
        for (buf, n, err) in full_rx.iter() {
            for piece in buf[..n].chunks(WRITE_PIECE) {
                out.write_all(piece)?;
            }
            total += n as u64;
            if err.is_some() {
                return Ok((total, err));
            }
            let _ = empty_tx.try_send(buf);
        }
        Ok((total, None))
    })
}

/// The threads to decode an `.xz` or `.bz2` on, given its read `buffer` (about its size):
/// one for a small file, whose few blocks are not worth the threads' start.
fn decoder_threads(buffer: usize, spools: &Spools) -> usize {
    if buffer < STREAM_BUFFER {
        1
    } else {
        spools.decoder_threads
    }
}

/// Decodes `reader` (after sniffing its first bytes): into memory when its text is small
/// (`decode`), else into an unlinked temporary file. When the data ends early (a `.gz`
/// copied while it was written, a cut download), the text decoded before is kept and the
/// damage described; when nothing decodes, it is an error. `buffer` sizes the read buffer
/// of the decoders that want one: about the compressed size, for a small file.
fn spool(
    reader: impl Read + Send + 'static,
    name: &str,
    buffer: usize,
    spools: &Spools,
) -> Result<(Data, Option<Damage>)> {
    spool_piped(reader, None, name, buffer, spools)
}

/// `spool` of a stream: a plain text's rest is moved from its `pipe` by the kernel
/// (`pipe::Pipe`), which `reader` reads unbuffered.
fn spool_piped(
    mut reader: impl Read + Send + 'static,
    pipe: Option<Pipe>,
    name: &str,
    buffer: usize,
    spools: &Spools,
) -> Result<(Data, Option<Damage>)> {
    let mut head = [0u8; SNIFF];
    let mut n = 0;
    while n < head.len() {
        let k = reader
            .read(&mut head[n..])
            .with_context(|| format!("{name}: read error"))?;
        if k == 0 {
            break;
        }
        n += k;
    }
    let chained = io::Cursor::new(head[..n].to_vec()).chain(reader);
    let budget = &IN_MEMORY;
    let (data, decoded, broken) = match sniff_compression(&head[..n]) {
        Compression::None => decode(chained, pipe.as_ref(), name, budget, spools),
        Compression::Gzip => decode(
            compressed::gzip(io::BufReader::with_capacity(buffer, chained)),
            None,
            name,
            budget,
            spools,
        ),
        // Decoded by `compressed`, which keeps the text before damage as the tools do.
        Compression::Zstd => {
            let r = io::BufReader::with_capacity(buffer, chained);
            let d = compressed::zstd(r, ZSTD_WINDOW_LOG_MAX)
                .with_context(|| format!("{name}: cannot start a zstd decoder"))?;
            decode(d, None, name, budget, spools)
        }
        Compression::Bzip2 => {
            let threads = decoder_threads(buffer, spools);
            decode(
                compressed::bzip2(chained, threads),
                None,
                name,
                budget,
                spools,
            )
        }
        Compression::Lz4 => {
            let r = io::BufReader::with_capacity(buffer, chained);
            decode(compressed::lz4(r), None, name, budget, spools)
        }
        Compression::Xz => {
            let r = io::BufReader::with_capacity(buffer, chained);
            let threads = decoder_threads(buffer, spools) as u32;
            let d = compressed::xz(r, XZ_MEMORY_LIMIT, threads)
                .with_context(|| format!("{name}: cannot start an xz decoder"))?;
            decode(d, None, name, budget, spools)
        }
    }?;
    let damage = match broken {
        None => None,
        // An empty stream before the bytes after the end is an empty text, said so.
        Some(e) if decoded == 0 && !compressed::is_after_the_end(&e) => {
            bail!("{name}: cannot decode: {e}")
        }
        Some(e) => Some(Damage {
            decoded,
            before: compressed::before(&e),
            error: e.to_string(),
        }),
    };
    Ok((data, damage))
}

/// Decodes `r`: the first `IN_MEMORY_MAX` bytes here, kept in memory when the text ends
/// within them and `budget` has room; else all of it into a temporary file (`spools`), the
/// rest decoded by `pipe_to`, or moved from `pipe` (a plain stream's). Returns the data,
/// the decoded length and the read (decoding) error that ended the text early, if one did.
fn decode(
    mut r: impl Read + Send,
    pipe: Option<&Pipe>,
    name: &str,
    budget: &'static AtomicUsize,
    spools: &Spools,
) -> Result<(Data, u64, Option<io::Error>)> {
    let mut first = Vec::new();
    // On an error, what was read before it is in `first` (`read_to_end`'s contract).
    let (ended, broken) = match (&mut r)
        .take(IN_MEMORY_MAX as u64 + 1)
        .read_to_end(&mut first)
    {
        Ok(_) => (first.len() <= IN_MEMORY_MAX, None),
        Err(e) => (true, Some(e)),
    };
    if ended && reserve(budget, first.len()) {
        let n = first.len() as u64;
        return Ok((Data::kept(first, budget), n, broken));
    }
    let (data, (rest, broken)) = spools.append(name, |f| {
        for piece in first.chunks(WRITE_PIECE) {
            f.write_all(piece)?;
        }
        if ended {
            return Ok((0, broken));
        }
        // What `r` has not read yet is in the pipe (`first` took the reader's last bytes).
        match pipe.map(|p| p.move_into(f)).transpose()? {
            Some(Moved::All(n, broken)) => Ok((n, broken)),
            Some(Moved::Some(n)) => pipe_to(r, f).map(|(m, broken)| (n + m, broken)),
            None => pipe_to(r, f),
        }
    })?;
    Ok((data, first.len() as u64 + rest, broken))
}

/// The first bytes of a file, leaving it to be read from its start: no second open and no
/// seek (thousands of small inputs are opened at once; each call is a system call).
fn read_head(f: &mut File, head: &mut [u8]) -> io::Result<usize> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileExt;
        f.read_at(head, 0)
    }
    #[cfg(not(unix))]
    {
        let n = f.read(head)?;
        f.seek(io::SeekFrom::Start(0))?;
        Ok(n)
    }
}

/// Copies the plain file `f` (its first `len` bytes, or what is there of them) into a
/// temporary file (`spools`): a small file the in-memory budget had no room for, or any
/// file once `MAX_MAPPED` inputs are mapped. A large one is copied by the kernel
/// (`io::copy`, no buffer here); a small one is read and written through a buffer: the
/// kernel's copy asks both files' `stat` first and goes through a pipe of its own, and
/// 62,000 small files past the budget (80,000 of 4 KiB) spent 0.2 s more on that.
fn copy_plain(f: &mut File, len: u64, name: &str, spools: &Spools) -> Result<Data> {
    thread_local! {
        static SMALL: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let (data, _) = spools.append(name, |out| {
        if len > IN_MEMORY_MAX as u64 {
            out.before_writing(len)?;
            return io::copy(&mut f.take(len), out.file);
        }
        SMALL.with_borrow_mut(|text| {
            text.clear();
            text.reserve(len as usize + 1);
            (&mut *f).take(len).read_to_end(text)?;
            out.write_all(text)?;
            Ok(text.len() as u64)
        })
    })?;
    Ok(data)
}

/// The text of a small plain file (`IN_MEMORY_MAX`), read into memory while `budget` has
/// room: mapping it, and the faults that follow, cost more for a file of a few kilobytes,
/// and thousands of maps made side by side wait on each other in the kernel. `None` for a
/// larger file (or one grown past the limit since `len` was taken), a full budget, or a
/// read error (the map then reads it, or says why not).
fn read_small(f: &mut File, len: u64, budget: &'static AtomicUsize) -> Option<Data> {
    // Room for `len` taken before reading, so that once the budget is spent no file is read
    // in vain; then exchanged for what was read (a live log may have grown since).
    if len > IN_MEMORY_MAX as u64 || !reserve(budget, len as usize) {
        return None;
    }
    let mut text = Vec::with_capacity(len as usize);
    let read = f.take(IN_MEMORY_MAX as u64 + 1).read_to_end(&mut text);
    budget.fetch_sub(len as usize, Ordering::Relaxed);
    if read.is_err() || text.len() > IN_MEMORY_MAX || !reserve(budget, text.len()) {
        return None;
    }
    Some(Data::kept(text, budget))
}

/// A reader that notes the bytes read through it as progress (compressed bytes, while a
/// compressed input is decoded).
struct Counted<R> {
    inner: R,
    /// Its own handle: a bzip2 decoder reads on a thread of its own.
    progress: Option<Arc<Progress>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.add(n as u64);
        }
        Ok(n)
    }
}

/// Opens one expanded path, noting its bytes as `progress` as they are read (all at once
/// for a mapped file, as decoded for a compressed one).
///
/// Its text is not readable until `spools.seal` is given it (with the other inputs).
/// `whole`: every line of it will be read (no time range to seek to), so a mapped file's
/// stretches that are not in the page cache are read in first (`page_cache`).
pub fn open(
    path: &Path,
    explicit: bool,
    progress: Option<&Arc<Progress>>,
    spools: &Spools,
    whole: bool,
) -> Result<Input> {
    if path.as_os_str() == "-" {
        if let Some(f) = stdin_file() {
            let clone = f.try_clone().context("<stdin>: cannot open")?;
            let input = open_file(
                clone,
                "-".into(),
                "<stdin>",
                explicit,
                progress,
                spools,
                whole,
            )?;
            // Left at its end, as a read to the end leaves it, for whatever reads the same
            // stdin next (`{ why409; tail; } < access.log`).
            let _ = (&f).seek(io::SeekFrom::End(0));
            return Ok(input);
        }
        let stdin = stdin_stream().context("<stdin>: cannot open")?;
        let (data, damage) = spool_stream(stdin, "<stdin>", progress, spools)?;
        return Ok(Input {
            name: "-".into(),
            explicit,
            damage,
            archive: None,
            data,
        });
    }
    let name = path.display().to_string();
    let f = File::open(path).with_context(|| format!("{name}: cannot open"))?;
    open_file(f, name.clone(), &name, explicit, progress, spools, whole)
}

/// Stdin, when it is a regular file read from its start (`why409 < access.log`): read as a
/// named file is (mapped, not copied into a temporary file first: a 1 GiB log took
/// 0.94-1.28 s copied, 0.47-0.54 s mapped). A file a script has read part of already is
/// streamed from where it stands, as are pipes.
#[cfg(unix)]
fn stdin_file() -> Option<File> {
    use std::os::fd::AsFd;
    let mut f = File::from(io::stdin().as_fd().try_clone_to_owned().ok()?);
    let at_start = f.stream_position().ok()? == 0;
    (f.metadata().ok()?.is_file() && at_start).then_some(f)
}

#[cfg(not(unix))]
fn stdin_file() -> Option<File> {
    None
}

/// Stdin read through a handle of its own: `io::stdin()` buffers, and what it read ahead
/// would be skipped by a splice (`Pipe`).
#[cfg(unix)]
fn stdin_stream() -> io::Result<File> {
    use std::os::fd::AsFd;
    Ok(File::from(io::stdin().as_fd().try_clone_to_owned()?))
}

#[cfg(windows)]
fn stdin_stream() -> io::Result<File> {
    use std::os::windows::io::AsHandle;
    Ok(File::from(io::stdin().as_handle().try_clone_to_owned()?))
}

/// The buffer asked for a pipe read as a stream: Linux's limit for a user (64 KiB is the
/// default).
#[cfg(target_os = "linux")]
const PIPE_BUFFER: usize = 1 << 20;

/// Asks for the pipe `fd` reads from (if it is one) to buffer `PIPE_BUFFER` bytes: a writer
/// like `cat` or `zcat` then hands over sixteen times as much per switch between the two
/// processes (1 GiB through `cat |` read in 0.30-0.46 s instead of 0.9-1.2 s). A refusal
/// (a lower limit, not a pipe) changes nothing.
#[cfg(target_os = "linux")]
fn widen_pipe(fd: impl std::os::fd::AsFd) {
    use std::os::fd::AsRawFd;
    // SAFETY: an fcntl on an open descriptor, borrowed for the call; F_SETPIPE_SZ reads no
    // memory of ours.
    unsafe {
        libc::fcntl(
            fd.as_fd().as_raw_fd(),
            libc::F_SETPIPE_SZ,
            PIPE_BUFFER as libc::c_int,
        )
    };
}

#[cfg(not(target_os = "linux"))]
fn widen_pipe<T>(_: T) {}

/// A stream (stdin, a pipe, a FIFO, a device) read into a temporary file: its pipe widened
/// (`widen_pipe`), a plain text moved by the kernel (`Pipe`), read to its end even when it
/// is non-blocking (`Stream`), its bytes counted as `progress`.
fn spool_stream(
    f: File,
    label: &str,
    progress: Option<&Arc<Progress>>,
    spools: &Spools,
) -> Result<(Data, Option<Damage>)> {
    widen_pipe(&f);
    let pipe = Pipe::of(&f, progress);
    let f = Counted {
        inner: Stream(f),
        progress: progress.cloned(),
    };
    spool_piped(f, pipe, label, STREAM_BUFFER, spools)
}

/// Whether an expanded path is read as a stream, its size unknown until it ends: stdin but
/// a file read from its start (`stdin_file`), a pipe (`<(zcat old.gz)`), a FIFO or a device.
pub fn is_stream(path: &Path) -> bool {
    if path.as_os_str() == "-" {
        return stdin_file().is_none();
    }
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// The size in bytes of an expanded path's file as it stands, stdin's when it is a file
/// read from its start (`stdin_file`); `None` for a stream or a file that cannot be stat'ed.
pub fn file_size(path: &Path) -> Option<u64> {
    let meta = if path.as_os_str() == "-" {
        stdin_file()?.metadata()
    } else {
        std::fs::metadata(path)
    };
    meta.ok().filter(|m| m.is_file()).map(|m| m.len())
}

/// `open` of an opened file, named `name` in the report and `label` in messages.
fn open_file(
    mut f: File,
    name: String,
    label: &str,
    explicit: bool,
    progress: Option<&Arc<Progress>>,
    spools: &Spools,
    whole: bool,
) -> Result<Input> {
    let meta = f
        .metadata()
        .with_context(|| format!("{label}: cannot stat"))?;
    let (data, damage) = if meta.is_file() {
        let mut head = [0u8; SNIFF];
        let n = read_head(&mut f, &mut head).with_context(|| format!("{label}: cannot read"))?;
        match sniff_compression(&head[..n]) {
            Compression::None => {
                let data = read_plain(&mut f, meta.len(), label, progress, spools, whole)?;
                (data, None)
            }
            packed => read_packed(f, packed, meta.len(), label, progress, spools)?,
        }
    } else {
        // A pipe (`why409 <(zcat old.gz)`), a FIFO or a device: read as a stream like
        // stdin. It cannot be mapped, and bytes read to sniff it could not be read again.
        spool_stream(f, label, progress, spools)?
    };
    Ok(Input {
        name,
        explicit,
        damage,
        archive: None,
        data,
    })
}

/// A plain file of `len` bytes: read into memory when small, else mapped (and read in when
/// `whole`, its progress shown as it goes), or copied to a temporary file once the maps are
/// spent.
fn read_plain(
    f: &mut File,
    len: u64,
    label: &str,
    progress: Option<&Arc<Progress>>,
    spools: &Spools,
    whole: bool,
) -> Result<Data> {
    // Bytes shown as done: a read-in of a large uncached log (seconds on a slow disk)
    // shows its progress as it goes.
    let mut shown = 0;
    let mut show = |n: u64| {
        if let Some(p) = progress {
            p.add(n);
        }
        shown += n;
    };
    let data = match read_small(f, len, &IN_MEMORY) {
        Some(data) => data,
        // The map of a small file costs more than its copy (and is one of the
        // process's maps).
        None if len > IN_MEMORY_MAX as u64 && spools.take_map() => {
            let data = map_file(f, label)?;
            if whole && let Data::Mapped(m) = &data {
                crate::page_cache::read_in(f, m, &mut show);
            }
            data
        }
        None => copy_plain(f, len, label, spools)?,
    };
    if let Some(p) = progress {
        p.add(len.saturating_sub(shown));
    }
    Ok(data)
}

/// A compressed file of `len` bytes: a gzip file decoded whole where it can be
/// (`gunzip_file`), else any decoded as a stream into a spool, keeping the text before any
/// damage.
fn read_packed(
    f: File,
    compression: Compression,
    len: u64,
    label: &str,
    progress: Option<&Arc<Progress>>,
    spools: &Spools,
) -> Result<(Data, Option<Damage>)> {
    let whole = match compression {
        Compression::Gzip => gunzip_file(&f, len, label, spools),
        _ => None,
    };
    if let Some(data) = whole.transpose()? {
        if let Some(p) = progress {
            p.add(len);
        }
        return Ok((data, None));
    }
    let buffer = (len as usize).clamp(8 << 10, STREAM_BUFFER);
    let progress = progress.cloned();
    spool(Counted { inner: f, progress }, label, buffer, spools)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pipes and devices are streams, their sizes unknown; files, directories and missing
    /// paths are not.
    #[cfg(target_os = "linux")]
    #[test]
    fn streams_are_told_from_files() {
        use std::os::fd::AsRawFd;
        let (reader, _writer) = std::io::pipe().unwrap();
        let pipe = format!("/proc/self/fd/{}", reader.as_raw_fd());
        assert!(is_stream(Path::new(&pipe)));
        assert!(is_stream(Path::new("/dev/null")));
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("access.log");
        std::fs::write(&file, "x\n").unwrap();
        assert!(!is_stream(&file));
        assert!(!is_stream(dir.path()));
        assert!(!is_stream(&dir.path().join("missing.log")));
    }

    /// A pipe read as a stream is asked to buffer `PIPE_BUFFER` bytes (where the system's
    /// limit for a user allows it, as Linux's default does), up from the default.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_pipe_read_as_a_stream_is_widened() {
        use std::os::fd::AsRawFd;
        let (reader, _writer) = std::io::pipe().unwrap();
        // SAFETY: F_GETPIPE_SZ on an open pipe reads no memory of ours.
        let size = || unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_GETPIPE_SZ) };
        let before = size();
        assert!(before > 0 && (before as usize) < PIPE_BUFFER, "{before}");
        widen_pipe(&reader);
        let limit = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok());
        if limit.is_some_and(|l| l >= PIPE_BUFFER) {
            assert_eq!(size() as usize, PIPE_BUFFER);
        }
    }

    /// `bytes` as an input read from a stream.
    fn spooled(bytes: &[u8]) -> Input {
        let spools = Spools::default();
        let (data, damage) =
            spool(io::Cursor::new(bytes.to_vec()), "t", STREAM_BUFFER, &spools).unwrap();
        sealed(spools, data, damage)
    }

    /// The input of `data`, written to `spools`, with its text sealed.
    fn sealed(spools: Spools, data: Data, damage: Option<Damage>) -> Input {
        let input = Input {
            name: "t".into(),
            explicit: true,
            damage,
            archive: None,
            data,
        };
        spools.seal(vec![Ok(input)]).pop().unwrap().unwrap()
    }

    #[test]
    fn gzip_and_zstd_are_decoded() {
        use std::io::Write;
        let text = b"line one\nline two\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text).unwrap();
        let mut gz = gz.finish().unwrap();
        // a second gzip member, as logrotate's delaycompress + cat produce
        let mut gz2 = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz2.write_all(b"line three\n").unwrap();
        gz.extend(gz2.finish().unwrap());
        let i = spooled(&gz);
        assert_eq!(i.bytes(), b"line one\nline two\nline three\n");
        assert_eq!(i.damage, None);
        let z = zstd::encode_all(&text[..], 3).unwrap();
        assert_eq!(spooled(&z).bytes(), text);
        // A window of 1 GiB (`zstd --long=30`), past libzstd's default limit.
        let mut long = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        long.set_parameter(zstd::zstd_safe::CParameter::WindowLog(30))
            .unwrap();
        long.write_all(text).unwrap();
        assert_eq!(spooled(&long.finish().unwrap()).bytes(), text);
    }

    /// `text` as one gzip member, compressed fast.
    fn gzip(text: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        gz.finish().unwrap()
    }

    /// A regular `.gz` file gives the text `zcat` gives, decoded whole (small, or into a
    /// thread's buffer, several members too while the buffer has room for them) or as a
    /// stream (members past that room, a cut file, an empty text, or the buffers' budget
    /// spent), with the damage said only for the cut one.
    #[test]
    fn gzip_files_decoded_whole_or_streamed_give_the_same_text() {
        let text: Vec<u8> = (0..200_000)
            .flat_map(|k| {
                format!("10.0.0.{} - - \"PUT /o/{k} HTTP/1.1\" 409 {k}\n", k % 7).into_bytes()
            })
            .collect();
        assert!(text.len() > 4 * IN_MEMORY_MAX);
        let whole = gzip(&text);
        let mut members = gzip(&text[..text.len() / 2]);
        members.extend(gzip(&text[text.len() / 2..]));
        let mut small_last = gzip(&text);
        small_last.extend(gzip(b"one more line\n"));
        // Past the room a buffer has beyond the last member's size (`BUFFER_STEP`).
        let mut long_small_last = gzip(&text.repeat(3));
        long_small_last.extend(gzip(b"one more line\n"));
        assert!(3 * text.len() > BUFFER_STEP);
        let dir = tempfile::tempdir().unwrap();
        // Whether it is decoded whole, with the buffers' budget and without.
        let files: [(&str, Vec<u8>, [bool; 2]); 8] = [
            ("whole.gz", whole.clone(), [true, false]),
            ("small.gz", gzip(&text[..50_000]), [true, true]),
            ("members.gz", members, [true, false]),
            ("small-last.gz", small_last, [true, false]),
            ("long-small-last.gz", long_small_last, [false, false]),
            (
                "cut.gz",
                whole[..whole.len() * 2 / 3].to_vec(),
                [false, false],
            ),
            ("empty.gz", gzip(b""), [false, false]),
            ("bare.gz", whole[..whole.len() - 8].to_vec(), [false, false]),
        ];
        for (k, budget) in [BUFFERS_BUDGET, 0].into_iter().enumerate() {
            for (name, gz, whole) in &files {
                let path = dir.path().join(name);
                std::fs::write(&path, gz).unwrap();
                let mut zcat = Vec::new();
                let broken = flate2::read::MultiGzDecoder::new(&gz[..])
                    .read_to_end(&mut zcat)
                    .is_err();
                let spools = Spools {
                    buffers_budget: budget,
                    ..Spools::default()
                };
                let input = open(&path, true, None, &spools, true).unwrap();
                let decoded_whole = spools.decoded_whole.load(Ordering::Relaxed);
                assert_eq!(decoded_whole, usize::from(whole[k]), "{name}");
                let input = spools.seal(vec![Ok(input)]).pop().unwrap().unwrap();
                assert_eq!(input.bytes(), &zcat[..], "{name}");
                assert_eq!(input.damage.is_some(), broken, "{name}");
            }
        }
    }

    /// Large `.gz` texts are decoded whole only when there are `WHOLE_AMONG` such files for
    /// each thread, counted by name (a plain log among them does not count).
    #[test]
    fn large_gzip_texts_are_decoded_whole_only_among_many() {
        let threads = rayon::current_num_threads();
        let budget = |names: &[String]| {
            Spools::for_inputs(names.iter().map(|n| Path::new(n.as_str()))).buffers_budget
        };
        let named = |n: usize, ext: &str| -> Vec<String> {
            (0..n)
                .map(|k| format!("logs/access.log.{k}{ext}"))
                .collect()
        };
        let many = WHOLE_AMONG * threads;
        assert_eq!(budget(&named(many, ".gz")), buffers_budget());
        assert_eq!(budget(&named(many, ".GZ")), buffers_budget());
        assert_eq!(budget(&named(many - 1, ".gz")), 0);
        let mut mixed = named(many - 1, ".gz");
        mixed.extend(named(5, ""));
        mixed.extend(named(5, ".zst"));
        assert_eq!(budget(&mixed), 0);
        assert_eq!(budget(&[]), 0);
        assert!(buffers_budget() > 0);
    }

    /// An `.xz` or `.bz2` text is decoded on every thread when it is the only one, on one
    /// when there are as many as threads; other inputs leave that as it is.
    #[test]
    fn slow_decoders_share_the_threads() {
        let threads = rayon::current_num_threads();
        let decoders =
            |names: &[&str]| Spools::for_inputs(names.iter().map(Path::new)).decoder_threads;
        assert_eq!(
            decoders(&["a.log.xz", "b.log", "c.log.gz", "d.log.zst"]),
            threads
        );
        assert_eq!(decoders(&["a.log.BZ2"]), threads);
        assert_eq!(decoders(&[]), threads);
        assert_eq!(Spools::default().decoder_threads, threads);
        let many: Vec<String> = (0..threads)
            .map(|k| format!("access.log.{k}.bz2"))
            .collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(decoders(&many), 1);
        assert_eq!(decoders(&[&many[..], &["a.txz", "b.tbz2"]].concat()), 1);
        if threads >= 2 {
            assert_eq!(decoders(&["a.log.xz", "b.log.bz2"]), threads / 2);
        }
    }

    /// A cut `.gz` (copied while it was written) keeps the text decoded before the cut, as
    /// `zcat` prints it before its error, and says so; one cut before any text is an error.
    #[test]
    fn a_truncated_gzip_keeps_what_decodes() {
        use std::io::Write;
        let text: String = (0..20_000)
            .map(|k| format!("line {k} of a log\n"))
            .collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(text.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        let cut = &gz[..gz.len() / 2];
        let mut zcat = Vec::new();
        let err = flate2::read::MultiGzDecoder::new(cut).read_to_end(&mut zcat);
        assert!(err.is_err());
        let i = spooled(cut);
        assert!(!i.bytes().is_empty() && text.as_bytes().starts_with(i.bytes()));
        assert_eq!(i.bytes(), zcat);
        let damage = i.damage.as_ref().unwrap().to_string();
        let at = format!("cannot decode past byte {} of its text", i.bytes().len());
        assert!(damage.starts_with(&at), "{damage}");
        let e = spool(
            io::Cursor::new(gz[..12].to_vec()),
            "t.gz",
            STREAM_BUFFER,
            &Spools::default(),
        )
        .map(|_| ())
        .unwrap_err();
        assert!(
            format!("{e:#}").starts_with("t.gz: cannot decode: "),
            "{e:#}"
        );
        // A changed CRC: all of the text, told as decoded against its checksum.
        let mut crc = gz.clone();
        let n = crc.len();
        crc[n - 8] ^= 1;
        let i = spooled(&crc);
        assert_eq!(i.bytes(), text.as_bytes());
        assert_eq!(
            i.damage.as_ref().unwrap().to_string(),
            format!(
                "cannot decode past byte {} of its text: gzip: a member's text does not match \
                 its checksum or length; the lines before are analysed as decoded, some \
                 perhaps wrong",
                text.len()
            )
        );
        // An empty member, then garbage: an empty text, the garbage told.
        let mut empty = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        empty.write_all(b"").unwrap();
        let i = spooled(&[&empty.finish().unwrap()[..], b"garbage"].concat());
        assert!(i.bytes().is_empty());
        assert!(
            i.damage
                .as_ref()
                .is_some_and(|d| d.whole() && d.decoded == 0)
        );
        // Garbage after the last member: all of the text, and the warning says it is whole.
        let garbage = [&gz[..], b"<html>not found</html>\n"].concat();
        let i = spooled(&garbage);
        assert_eq!(i.bytes(), text.as_bytes());
        assert_eq!(
            i.damage.as_ref().unwrap().to_string(),
            format!(
                "gzip: the bytes after a member are not a gzip member; they are ignored, and \
                 all of its text ({} bytes) is analysed",
                text.len()
            )
        );
    }

    /// A small text is decoded into memory, a large one (or a small one once the budget is
    /// spent) into a temporary file; the bytes and the damage are the same either way, and
    /// the budget is given back when the text is dropped.
    #[test]
    fn small_texts_stay_in_memory_large_ones_go_to_a_file() {
        let text: Vec<u8> = (0..120_000)
            .flat_map(|k| format!("line {k} of a log\n").into_bytes())
            .collect();
        assert!(text.len() > 2 * IN_MEMORY_MAX);
        let small = &text[..IN_MEMORY_MAX];
        let decoded = |bytes: &[u8], budget: &'static AtomicUsize| {
            let spools = Spools::default();
            let (data, n, broken) = decode(
                flate2::read::MultiGzDecoder::new(bytes),
                None,
                "t",
                budget,
                &spools,
            )
            .unwrap();
            let kind = match data {
                Data::Owned(..) => "memory",
                Data::Spooled { .. } => "file",
                Data::Empty => "empty",
                Data::Mapped(_) | Data::Shared(..) | Data::Part(..) => "a map before sealing",
            };
            let input = sealed(spools, data, None);
            assert_eq!(n, input.size());
            (kind, input.bytes().to_vec(), broken.is_some())
        };
        static BUDGET: AtomicUsize = AtomicUsize::new(0);
        let budget = &BUDGET;
        assert_eq!(
            decoded(&gzip(small), budget),
            ("memory", small.to_vec(), false)
        );
        assert_eq!(decoded(&gzip(&text), budget), ("file", text.clone(), false));
        assert_eq!(decoded(&gzip(b""), budget), ("empty", Vec::new(), false));
        // A cut stream keeps what decodes before the cut, in memory or in a file.
        for (whole, kind) in [(gzip(small), "memory"), (gzip(&text), "file")] {
            let cut = &whole[..whole.len() / 2];
            let mut zcat = Vec::new();
            assert!(
                flate2::read::MultiGzDecoder::new(cut)
                    .read_to_end(&mut zcat)
                    .is_err()
            );
            assert_eq!(decoded(cut, budget), (kind, zcat, true));
        }
        // Every text kept was given back when its input was dropped.
        assert_eq!(BUDGET.load(Ordering::Relaxed), 0);
        // No room left: a small text goes to a file too; one that fits still stays.
        static SPENT: AtomicUsize = AtomicUsize::new(IN_MEMORY_BUDGET - 10);
        assert_eq!(
            decoded(&gzip(small), &SPENT),
            ("file", small.to_vec(), false)
        );
        assert_eq!(
            decoded(&gzip(b"a\nb\n"), &SPENT),
            ("memory", b"a\nb\n".to_vec(), false)
        );
        // Taken while the text lives.
        let (data, _, _) = decode(small, None, "t", budget, &Spools::default()).unwrap();
        assert!(matches!(data, Data::Owned(..)));
        assert_eq!(BUDGET.load(Ordering::Relaxed), small.len());
        drop(data);
        assert_eq!(BUDGET.load(Ordering::Relaxed), 0);
    }

    /// A copy that would leave too little room on the temporary file's disk stops with an
    /// error naming the input, where and how much: a decoded text, a stream moved by the
    /// kernel, a file copied. What the file held before is kept where it was, and the next
    /// text is written after it.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_copy_that_leaves_too_little_room_stops() {
        let text: Vec<u8> = (0..600_000)
            .flat_map(|k| format!("line {k} of a log\n").into_bytes())
            .collect();
        assert!(text.len() > 8 << 20);
        let spools = Spools {
            room: Room::testing(4 << 20, u64::MAX),
            ..Spools::with_max_mapped(0)
        };
        let dir = tempfile::tempdir().unwrap();
        let path = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let read = |path: &Path| open(path, true, None, &spools, true);
        // Under the check's step: never stopped.
        let before = read(&path("before.log", &text[..3 << 20]));
        assert!(matches!(
            before,
            Ok(Input {
                data: Data::Spooled { .. },
                ..
            })
        ));
        let stopped = |e: Option<anyhow::Error>, name: &str, after: &str| {
            let e = format!("{:#}", e.expect("an error"));
            let want = format!("{name}: stopped copying its text to a temporary file in ");
            assert!(e.starts_with(&want), "{e}");
            assert!(e.contains(&format!(" after {after}: ")), "{e}");
            let keeps = "left free on that disk, where why409 keeps 17179869184.0 GiB free";
            assert!(e.ends_with(keeps), "{e}");
        };
        // Counted on from the file before: 1 MiB of the decoded text is written.
        let gz = path("big.log.gz", &gzip(&text));
        let name = gz.display().to_string();
        stopped(read(&gz).err(), &name, "1 MiB");
        // A copy by the kernel, its size known, is stopped before it starts.
        let big = path("big.log", &text);
        let name = big.display().to_string();
        stopped(read(&big).err(), &name, "0 bytes");
        // The first MiB read, the rest moved from the pipe by the kernel a MiB at most at
        // a time, until the check at 4 MiB.
        let (reader, mut writer) = std::io::pipe().unwrap();
        let stream = File::from(std::os::fd::OwnedFd::from(reader));
        let sent = text.clone();
        let writing = std::thread::spawn(move || writer.write_all(&sent));
        let got = spool_stream(stream, "<stdin>", None, &spools);
        stopped(got.err(), "<stdin>", "4 MiB");
        assert!(writing.join().unwrap().is_err(), "the reader's end closed");
        let after = read(&path("after.log", &text[..1 << 20]));
        let inputs = spools.seal(vec![before, after]);
        assert_eq!(inputs[0].as_ref().unwrap().bytes(), &text[..3 << 20]);
        assert_eq!(inputs[1].as_ref().unwrap().bytes(), &text[..1 << 20]);
    }

    /// Past `max_mapped` mapped inputs, plain files are copied into the shared temporary
    /// file, with the decoded texts too large to keep in memory: each input reads its own
    /// text there, whatever came before it.
    #[test]
    fn inputs_past_the_map_limit_share_a_file() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let spools = Spools::with_max_mapped(2);
        let mut texts = Vec::new();
        let mut inputs = Vec::new();
        for k in 0..6 {
            let text: Vec<u8> = (0..IN_MEMORY_MAX / 10 + 10 + k)
                .flat_map(|i| format!("{k} {i:07}\n").into_bytes())
                .collect();
            assert!(text.len() > IN_MEMORY_MAX);
            let path = dir.path().join(format!("{k}.log"));
            if k % 3 == 2 {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gz.write_all(&text).unwrap();
                std::fs::write(&path, gz.finish().unwrap()).unwrap();
            } else {
                std::fs::write(&path, &text).unwrap();
            }
            inputs.push(open(&path, true, None, &spools, true));
            texts.push(text);
        }
        let kinds: Vec<&str> = (inputs.iter())
            .map(|i| match &i.as_ref().unwrap().data {
                Data::Mapped(_) => "map",
                Data::Spooled { file: 0, .. } => "spool",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["map", "map", "spool", "spool", "spool", "spool"]);
        let inputs = spools.seal(inputs);
        for (input, text) in inputs.iter().zip(&texts) {
            let input = input.as_ref().unwrap();
            assert_eq!(input.bytes(), &text[..], "{}", input.name);
        }
        let shared: Vec<bool> = (inputs.iter())
            .map(|i| matches!(i.as_ref().unwrap().data, Data::Shared(..)))
            .collect();
        assert_eq!(shared, [false, false, true, true, true, true]);
    }

    /// A mapped log read whole has its stretches read into the page cache; one read only
    /// where a time range lies (`whole` false) is left to the pages its reading faults in.
    /// Where the file system keeps a file's pages whatever it is told (tmpfs), there is
    /// nothing to tell apart, and the test says so and stops.
    #[cfg(target_os = "linux")]
    #[test]
    fn logs_read_whole_are_read_in_first() {
        use crate::page_cache::STRETCH;
        use std::os::fd::AsRawFd;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.log");
        let line =
            b"10.0.0.1 - - [02/Mar/2026:09:00:00 +0000] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"\n";
        let text: Vec<u8> = line.iter().copied().cycle().take(6 * STRETCH).collect();
        std::fs::write(&path, &text).unwrap();
        let far = 5 * STRETCH;
        let evict = || {
            let f = File::open(&path).unwrap();
            f.sync_all().unwrap();
            // SAFETY: a hint about a file only this test holds.
            unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) };
        };
        let cached = |bytes: &[u8]| {
            let mut v = 0u8;
            let p = bytes[far..].as_ptr();
            // SAFETY: `p` starts a page of a live map (the stretch is page-aligned).
            assert_eq!(
                unsafe { libc::mincore(p as *mut libc::c_void, 1, &mut v) },
                0
            );
            v & 1 == 1
        };
        for whole in [false, true] {
            evict();
            // SAFETY: the file is not changed while mapped.
            let plain = unsafe { Mmap::map(&File::open(&path).unwrap()) }.unwrap();
            if cached(&plain) {
                eprintln!("this file system keeps evicted pages: nothing to test");
                return;
            }
            let spools = Spools::default();
            let input = open(&path, true, None, &spools, whole).unwrap();
            assert!(matches!(input.data, Data::Mapped(_)));
            assert_eq!(cached(input.bytes()), whole, "whole: {whole}");
            assert_eq!(input.bytes(), &text[..]);
        }
    }

    /// A small plain file is read into memory, a large one left to the map.
    #[test]
    fn small_plain_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        static BUDGET: AtomicUsize = AtomicUsize::new(0);
        let budget = &BUDGET;
        for (len, read) in [
            (0, true),
            (5, true),
            (IN_MEMORY_MAX, true),
            (IN_MEMORY_MAX + 1, false),
        ] {
            let path = dir.path().join(format!("{len}.log"));
            let text: Vec<u8> = (0..len).map(|k| b"ab\n"[k % 3]).collect();
            std::fs::write(&path, &text).unwrap();
            let mut f = File::open(&path).unwrap();
            let data = read_small(&mut f, len as u64, budget);
            assert_eq!(data.is_some(), read, "{len}");
            if let Some(data) = data {
                let input = Input {
                    name: "t".into(),
                    explicit: true,
                    damage: None,
                    archive: None,
                    data,
                };
                assert_eq!(input.bytes(), &text[..], "{len}");
            }
        }
        // A file that grew past the limit since its length was taken is mapped instead.
        let path = dir.path().join("grown.log");
        std::fs::write(&path, vec![b'a'; IN_MEMORY_MAX + 5]).unwrap();
        assert!(read_small(&mut File::open(&path).unwrap(), 10, budget).is_none());
        assert_eq!(BUDGET.load(Ordering::Relaxed), 0);
        // And so is one that finds the budget spent.
        static SPENT: AtomicUsize = AtomicUsize::new(IN_MEMORY_BUDGET);
        let path = dir.path().join("5.log");
        assert!(read_small(&mut File::open(&path).unwrap(), 5, &SPENT).is_none());
    }

    #[test]
    fn bzip2_multi_stream_is_decoded() {
        use std::io::Write;
        let mut bz = Vec::new();
        for part in [&b"line one\n"[..], b"line two\n"] {
            let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
            e.write_all(part).unwrap();
            bz.extend(e.finish().unwrap());
        }
        assert_eq!(sniff_compression(&bz[..4]), Compression::Bzip2);
        assert_eq!(sniff_compression(b"BZh"), Compression::None);
        assert_eq!(spooled(&bz).bytes(), b"line one\nline two\n");
    }

    /// LZ4 is sniffed by its frame's magic, and the legacy format's (`lz4 -l`).
    #[test]
    fn lz4_is_sniffed() {
        let mut e = lz4_flex::frame::FrameEncoder::new(Vec::new());
        e.write_all(b"line one\n").unwrap();
        let lz = e.finish().unwrap();
        assert_eq!(sniff_compression(&lz[..4]), Compression::Lz4);
        assert_eq!(
            sniff_compression(&[0x02, 0x21, 0x4c, 0x18]),
            Compression::Lz4
        );
        assert_eq!(sniff_compression(&lz[..3]), Compression::None);
        assert_eq!(spooled(&lz).bytes(), b"line one\n");
    }

    /// Data that begins with a skippable frame (which zstd and LZ4 share: `pzstd` writes
    /// one before each frame) is sniffed by the frame after it, or taken for zstd when that
    /// lies past the head.
    #[test]
    fn skippable_frames_are_sniffed_past() {
        let skippable = |n: u32| {
            let mut f = vec![0x50, 0x2a, 0x4d, 0x18];
            f.extend(n.to_le_bytes());
            f.extend(vec![0u8; n as usize]);
            f
        };
        let zst = zstd::encode_all(&b"line one\n"[..], 3).unwrap();
        let mut lz = lz4_flex::frame::FrameEncoder::new(Vec::new());
        lz.write_all(b"line one\n").unwrap();
        let lz = lz.finish().unwrap();
        for (frame, compression) in [(&zst, Compression::Zstd), (&lz, Compression::Lz4)] {
            let data = [skippable(4), skippable(0), frame.clone()].concat();
            assert_eq!(sniff_compression(&data[..SNIFF]), compression);
            assert_eq!(spooled(&data).bytes(), b"line one\n", "{compression:?}");
            let far = [skippable(SNIFF as u32), frame.clone()].concat();
            assert_eq!(sniff_compression(&far[..SNIFF]), Compression::Zstd);
        }
        assert_eq!(sniff_compression(&skippable(0)[..7]), Compression::None);
        assert_eq!(sniff_compression(b"P*M\x18 is not text"), Compression::Zstd);
        assert_eq!(sniff_compression(b"P*M is text"), Compression::None);
    }

    /// A ustar header for a file `name` of `len` bytes, with its checksum.
    fn tar_header_of(name: &str, len: usize) -> Vec<u8> {
        let mut h = vec![0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..108].copy_from_slice(b"0000644\0");
        h[124..136].copy_from_slice(format!("{len:011o}\0").as_bytes());
        h[156] = b'0';
        h[257..265].copy_from_slice(b"ustar\x0000");
        summed(&mut h);
        h
    }

    /// Writes the checksum of tar header `h` as tar writes it (six octal digits, a NUL, a
    /// space), its own eight bytes summed as spaces.
    fn summed(h: &mut [u8]) {
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    }

    /// Archives, and compressions why409 does not decode, are told as such (with what to
    /// run), not read as logs; a log that merely holds "ustar" at byte 257 is a log.
    #[test]
    fn archives_are_not_logs() {
        let line =
            b"10.0.0.1 - - [05/Dec/2026:10:00:00 +0000] \"PUT /o/1 HTTP/1.1\" 409 0 \"-\" \"x\"\n";
        let tar = [tar_header_of("access.log", line.len()), line.to_vec()].concat();
        assert!(not_a_log(&tar).unwrap().starts_with("a tar archive"));
        // v7: no magic (GNU tar writes its device numbers still), summed again.
        let mut v7 = tar_header_of("access.log", line.len());
        v7[257..265].fill(0);
        summed(&mut v7);
        let v7 = [v7, line.to_vec()].concat();
        assert!(not_a_log(&v7).unwrap().starts_with("a tar archive"));
        let mut v7_bad_sum = v7.clone();
        v7_bad_sum[0] = b'b';
        assert_eq!(not_a_log(&v7_bad_sum), None);
        let mut fake = line.repeat(8);
        fake[257..262].copy_from_slice(b"ustar");
        assert_eq!(not_a_log(&fake), None);
        let mut bad_sum = tar.clone();
        bad_sum[0] = b'b';
        assert_eq!(not_a_log(&bad_sum), None);
        assert_eq!(not_a_log(&tar[..511]), None);
        for (data, what) in [
            (&b"PK\x03\x04\x14\x00"[..], "a zip archive"),
            (b"7z\xbc\xaf\x27\x1c\x00\x04", "a 7-Zip archive"),
            (b"\x1f\x9d\x90line", "compressed by compress(1)"),
            (b"LZIP\x01", "compressed by lzip"),
            (b"\x5d\x00\x00\x80\x00", "compressed by LZMA"),
            (b"\xff\xfe1\x000\x00", "UTF-16 text"),
            (b"\xfe\xff\x001\x000", "UTF-16 text"),
            (b"1\x000\x00.\x00", "UTF-16 text"),
        ] {
            assert!(not_a_log(data).unwrap().starts_with(what), "{what}");
        }
        assert_eq!(not_a_log(line), None);
        assert_eq!(not_a_log(b"\xef\xbb\xbf10.0.0.1 - -"), None);
        assert_eq!(not_a_log(b""), None);
    }

    fn xz(text: &[u8]) -> Vec<u8> {
        liblzma::encode_all(text, 1).unwrap()
    }

    /// Streams one after another (`cat a.xz b.xz`, as `xzcat` reads them) are one text; a
    /// cut file keeps the text `xzcat` prints before its error and says where it stops.
    #[test]
    fn xz_multi_stream_is_decoded_and_a_cut_one_kept_up_to_the_cut() {
        let mut two = xz(b"line one\n");
        two.extend(xz(b"line two\n"));
        assert_eq!(sniff_compression(&two[..4]), Compression::Xz);
        assert_eq!(sniff_compression(b"\xfd7z"), Compression::None);
        let i = spooled(&two);
        assert_eq!(
            (i.bytes(), i.damage.is_none()),
            (&b"line one\nline two\n"[..], true)
        );

        let text: Vec<u8> = (0..100_000)
            .flat_map(|k| format!("10.0.0.{} \"PUT /o/{k} HTTP/1.1\" 409\n", k % 9).into_bytes())
            .collect();
        let whole = xz(&text);
        let i = spooled(&whole);
        assert_eq!((i.bytes(), i.damage.is_none()), (&text[..], true));
        let cut = &whole[..whole.len() * 2 / 3];
        let mut xzcat = Vec::new();
        let err = compressed::xz(cut, XZ_MEMORY_LIMIT, 1)
            .unwrap()
            .read_to_end(&mut xzcat);
        assert!(err.is_err() && !xzcat.is_empty() && text.starts_with(&xzcat));
        let i = spooled(cut);
        assert_eq!(i.bytes(), xzcat);
        let damage = i.damage.as_ref().unwrap().to_string();
        assert!(
            damage.starts_with(&format!("cannot decode past byte {}", xzcat.len())),
            "{damage}"
        );
        // Cut before any text: an error, as for the other formats.
        assert!(
            spool(
                io::Cursor::new(whole[..16].to_vec()),
                "t.xz",
                STREAM_BUFFER,
                &Spools::default()
            )
            .is_err()
        );
        // `xz -9` files (65 MiB) are within the limit.
        const { assert!(XZ_MEMORY_LIMIT >= 65 << 20) };
    }
}
