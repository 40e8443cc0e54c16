//! Compressed streams: xz and zstd decoded a step at a time, so that a damaged file keeps
//! all of its text that decodes, as `xzcat` and `zstdcat` print it before their error; bzip2
//! by mibz2, block-parallel; LZ4 frames by lz4_flex; gzip members by flate2, a member at a
//! time (its reader keeps that text already; `gunzip` decodes whole files).
//!
//! Why not the crates' own readers: when the data goes bad (a flipped byte, garbage after the
//! last stream), liblzma's drops the text the failing call had already decoded, up to the
//! caller's whole buffer (a 4 MiB block here): a 3 MB log with one byte changed kept
//! 1,048,577 bytes of xz's 1,497,705 (zstd's reader kept 1,179,648 of `zstdcat`'s
//! 1,310,720). `Text` hands out the text decoded before an error and tells the error on the
//! next read; zstd is given one block's room a step, as `zstdcat` gives it. mibz2 hands out
//! each bzip2 block's text once its CRC matches, and the error in place of a bad block's:
//! that log as `.bz2` keeps its first block, 895,109 bytes (`bzcat` prints 1,905,000, the
//! damaged block's text with it).
//!
//! Streams (frames) one after another (`cat a.xz b.xz`, a parallel compressor's output) are
//! one text; LZ4's skippable frames are skipped (libzstd skips zstd's). Damage is told in
//! words, with the format's name and, where the decoder says, the place: `bzip2: block CRC
//! mismatch (…), in block 2, from byte 72676 of the compressed data`. Bytes after the last
//! whole stream that begin no other (trailing garbage, zero padding where the format has
//! none) are an error of their own (`after_the_end`): the text before them is whole; so is a
//! text that decoded but does not match its checksum (`mismatch`): some of it may be wrong.
//! xz and bzip2, slow to decode (a core decodes 60-200 MB of text a second, gzip 1 GB), are
//! decoded on several threads when given them: bzip2's blocks of up to 900 kB of text, and
//! xz's blocks when the stream has several (`xz` writes them when compressing on more than
//! one thread, its default since 5.6).

use std::io::{self, BufRead, Read};

/// What a step did: the bytes of input it consumed and of text it wrote, and whether the
/// data is complete (`Ok(true)`: only at its end), goes on (`Ok(false)`), or is bad.
pub type Stepped = (usize, usize, io::Result<bool>);

/// One decoder, a step at a time.
pub trait Step {
    /// Decodes from `input` into `out` (`end`: no input follows).
    fn step(&mut self, input: &[u8], out: &mut [u8], end: bool) -> Stepped;
}

/// The text of the compressed data `input` holds.
pub struct Text<R, D> {
    input: R,
    decoder: D,
    /// An error met while the text before it was handed out: told on the next read.
    pending: Option<io::Error>,
    /// The last step of this read took no input and gave no text.
    stalled: bool,
}

impl<R: BufRead, D: Step> Text<R, D> {
    fn new(input: R, decoder: D) -> Text<R, D> {
        Text {
            input,
            decoder,
            pending: None,
            stalled: false,
        }
    }
}

impl<R: BufRead, D: Step> Read for Text<R, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let input = self.input.fill_buf()?;
            let end = input.is_empty();
            let (consumed, n, done) = self.decoder.step(input, buf, end);
            self.input.consume(consumed);
            let progress = consumed > 0 || n > 0;
            match done {
                Err(e) if n > 0 => {
                    self.pending = Some(e);
                    return Ok(n);
                }
                Err(e) => return Err(e),
                Ok(_) if n > 0 => {
                    self.stalled = false;
                    return Ok(n);
                }
                Ok(true) => return Ok(0),
                Ok(false) if end => return Err(ends_early()),
                // Once may be a stream's end met with nothing left to do, twice in a row is
                // a decoder stuck.
                Ok(false) if !progress && self.stalled => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the decoder makes no progress",
                    ));
                }
                Ok(false) => self.stalled = !progress,
            }
        }
    }
}

/// xz, with liblzma, a stream at a time: on this thread, or (`threads` > 1) with liblzma's
/// multithreaded decoder, which decodes the blocks of a stream on `threads` threads at once.
/// `xz` (5.6 on) writes blocks of three dictionaries (24 MiB at its default level) when
/// compressing on more than one thread, its default since; a stream of one block, as older
/// `xz` wrote, is decoded on one thread at the same speed. Streams one after another are
/// joined here (as liblzma's `CONCATENATED` flag would join them), the zero bytes between
/// them (stream padding, a multiple of four) skipped: so the end of the last whole stream is
/// known, and bytes after it that begin no stream are told as such (`after_the_end`).
pub struct Xz {
    decoder: Option<liblzma::stream::Stream>,
    threads: u32,
    memory_limit: u64,
    /// Zero bytes met since the last stream ended.
    padding: usize,
    /// A stream has ended: its text is whole.
    ended_one: bool,
}

/// A multithreaded decoder falls back to fewer threads, or one, rather than let the blocks
/// it holds (each one's input and text) take more than this.
const XZ_THREADING_MEMORY: u64 = 256 << 20;

/// The text of xz data, decoded on up to `threads` threads, refusing a stream that asks its
/// decoder for more than `memory_limit` bytes (its dictionary, mostly: `xz -9` asks for
/// 65 MiB).
pub fn xz<R: BufRead>(input: R, memory_limit: u64, threads: u32) -> io::Result<Text<R, Xz>> {
    let decoder = Xz {
        decoder: None,
        threads,
        memory_limit,
        padding: 0,
        ended_one: false,
    };
    Ok(Text::new(input, decoder))
}

impl Xz {
    /// A decoder for the next stream.
    fn start(&self) -> Result<liblzma::stream::Stream, liblzma::stream::Error> {
        if self.threads > 1 {
            liblzma::stream::MtStreamBuilder::new()
                .threads(self.threads)
                .memlimit_threading(XZ_THREADING_MEMORY.min(self.memory_limit))
                .memlimit_stop(self.memory_limit)
                .decoder()
        } else {
            liblzma::stream::Stream::new_stream_decoder(self.memory_limit, 0)
        }
    }
}

impl Step for Xz {
    fn step(&mut self, input: &[u8], out: &mut [u8], end: bool) -> Stepped {
        let (mut i, mut o) = (0, 0);
        // A stream at a time; a loop, not a call to itself: a hostile file may hold a million
        // empty streams.
        loop {
            let stream = match &mut self.decoder {
                Some(stream) => stream,
                None => {
                    let zeros = input[i..].iter().take_while(|&&b| b == 0).count();
                    (i, self.padding) = (i + zeros, self.padding + zeros);
                    if i == input.len() && !end {
                        // More padding, a stream, or the end may follow.
                        return (i, o, Ok(false));
                    }
                    if !self.padding.is_multiple_of(4) {
                        let e = "xz: the zero bytes after a stream are not a multiple of four";
                        // Zeros to the end: bytes after it; a stream after them: damage.
                        let e = if i == input.len() {
                            after_the_end(e)
                        } else {
                            io::Error::new(io::ErrorKind::InvalidData, e)
                        };
                        return (i, o, Err(e));
                    }
                    if i == input.len() {
                        return (i, o, Ok(true));
                    }
                    match self.start() {
                        Ok(stream) => self.decoder.insert(stream),
                        Err(e) => return (i, o, Err(xz_error(e, self.memory_limit))),
                    }
                }
            };
            let (di, d_o, done) = xz_step(stream, &input[i..], &mut out[o..], end);
            (i, o) = (i + di, o + d_o);
            match done {
                // Another stream may follow.
                Ok(true) => {
                    self.decoder = None;
                    self.padding = 0;
                    self.ended_one = true;
                    if i == input.len() {
                        return (i, o, Ok(end));
                    }
                }
                // What follows a whole stream does not begin another.
                Err(liblzma::stream::Error::Format) if self.ended_one => {
                    let e = "xz: the bytes after a stream are not an xz stream";
                    return (i, o, Err(after_the_end(e)));
                }
                Err(e) => return (i, o, Err(xz_error(e, self.memory_limit))),
                Ok(false) => return (i, o, Ok(false)),
            }
        }
    }
}

/// One step of a liblzma decoder: `Ok(true)` when its stream has ended.
fn xz_step(
    stream: &mut liblzma::stream::Stream,
    input: &[u8],
    out: &mut [u8],
    end: bool,
) -> (usize, usize, Result<bool, liblzma::stream::Error>) {
    use liblzma::stream::{Action, Status};
    let (i, o) = (stream.total_in(), stream.total_out());
    let action = if end { Action::Finish } else { Action::Run };
    let status = stream.process(input, out, action);
    let (i, o) = (
        (stream.total_in() - i) as usize,
        (stream.total_out() - o) as usize,
    );
    (i, o, status.map(|s| s == Status::StreamEnd))
}

/// liblzma's error in words ("lzma data error"); `memory_limit`: the decoder's.
fn xz_error(e: liblzma::stream::Error, memory_limit: u64) -> io::Error {
    use liblzma::stream::Error;
    let what = match e {
        Error::Data => {
            "the data is corrupt (it does not decode, or does not match its check)".to_string()
        }
        // The first stream's magic was sniffed (and what follows a whole stream is
        // `after_the_end`'s): the rest of its header is not xz's.
        Error::Format => "a stream's header is not xz's".to_string(),
        Error::MemLimit if memory_limit >= 1 << 20 => format!(
            "a stream needs more memory to decode than the limit of {} MiB",
            memory_limit >> 20
        ),
        Error::MemLimit => format!(
            "a stream needs more memory to decode than the limit of {} KiB",
            memory_limit >> 10
        ),
        _ => return e.into(),
    };
    io::Error::new(io::Error::from(e).kind(), format!("xz: {what}"))
}

/// The text of gzip data, with flate2: its members one after another (`cat a.gz b.gz`, a
/// shipper that appends a member per flush), and zero bytes after the last one ignored, as
/// `zcat` ignores them (a file padded to a block); anything else after a member is damage.
/// (flate2's own multi-member reader calls the zeros an invalid header.)
pub fn gzip<R: BufRead>(input: R) -> Gzip<R> {
    Gzip(GzipAt::Member(Box::new(flate2::bufread::GzDecoder::new(
        input,
    ))))
}

/// The text of gzip data.
pub struct Gzip<R: BufRead>(GzipAt<R>);

/// Where a gzip reader is: in a member, between two (zero bytes met since the last one), or
/// at the end.
enum GzipAt<R: BufRead> {
    Member(Box<flate2::bufread::GzDecoder<R>>),
    Between(R, bool),
    End,
}

impl<R: BufRead> Read for Gzip<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            match &mut self.0 {
                GzipAt::Member(member) => match member.read(buf).map_err(gzip_error)? {
                    0 => {
                        let GzipAt::Member(member) = std::mem::replace(&mut self.0, GzipAt::End)
                        else {
                            unreachable!("in a member")
                        };
                        self.0 = GzipAt::Between(member.into_inner(), false);
                    }
                    n => return Ok(n),
                },
                GzipAt::Between(input, zeros) => {
                    let next = input.fill_buf()?;
                    match next {
                        [] => self.0 = GzipAt::End,
                        [0, ..] => {
                            let n = next.iter().take_while(|&&b| b == 0).count();
                            input.consume(n);
                            *zeros = true;
                        }
                        [0x1f, ..] if !*zeros => {
                            let GzipAt::Between(input, _) =
                                std::mem::replace(&mut self.0, GzipAt::End)
                            else {
                                unreachable!("between members")
                            };
                            let member = flate2::bufread::GzDecoder::new(input);
                            self.0 = GzipAt::Member(Box::new(member));
                        }
                        _ => {
                            let e = "gzip: the bytes after a member are not a gzip member";
                            return Err(after_the_end(e));
                        }
                    }
                }
                GzipAt::End => return Ok(0),
            }
        }
    }
}

/// flate2's error with the format's name ("gzip: corrupt deflate stream"); a cut, as the
/// other formats say it; a checksum that does not match, as `mismatch`.
fn gzip_error(e: io::Error) -> io::Error {
    // flate2 tells a CRC or length mismatch by its message alone (a change of it fails
    // `a_checksum_mismatch_is_told_apart`).
    if e.to_string() == "corrupt gzip stream does not have a matching checksum" {
        return mismatch("gzip: a member's text does not match its checksum or length");
    }
    match e.kind() {
        io::ErrorKind::UnexpectedEof => ends_early(),
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            io::Error::new(e.kind(), format!("gzip: {e}"))
        }
        _ => e,
    }
}

/// The text of bzip2 data, with mibz2: on this thread, or (`threads` > 1) its blocks on
/// `threads` worker threads at once, in order. Its blocks are independent, about 900 kB of
/// text each; mibz2 decodes one 3.5 times as fast as libbzip2 does (a 100 MB log: 0.74 s,
/// against 2.6 s). It checks each block's CRC before handing out its text, so damage
/// loses the text of the block it is in (up to 900 kB), not what came before it.
pub fn bzip2<R: Read + Send + 'static>(input: R, threads: usize) -> Bzip2<R> {
    Bzip2(if threads > 1 {
        mibz2::BzReader::parallel(input, threads)
    } else {
        mibz2::BzReader::new(input)
    })
}

/// The text of bzip2 data, its errors said in words.
pub struct Bzip2<R>(mibz2::BzReader<R>);

impl<R: Read + Send + 'static> Read for Bzip2<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(bzip2_error)
    }
}

/// mibz2's error, which counts blocks from 0 and places them by bit ("block 1, at bit
/// 581413 = byte 72676"), told as the damaged block and the byte of the compressed data it
/// begins at.
fn bzip2_error(e: io::Error) -> io::Error {
    use mibz2::ErrorKind;
    let Some(inner) = e.get_ref().and_then(|e| e.downcast_ref::<mibz2::Error>()) else {
        return e;
    };
    let what = match &inner.kind {
        ErrorKind::Truncated => "the compressed data ends early".to_string(),
        ErrorKind::TrailingData => "the bytes after a stream are not a bzip2 stream".to_string(),
        kind => kind.to_string(),
    };
    let at = match (&inner.kind, inner.block, inner.bit) {
        // A stream's end is numbered as a block would be.
        (ErrorKind::StreamCrc { .. }, _, Some(bit)) | (_, None, Some(bit)) => {
            format!(", at byte {} of the compressed data", bit / 8)
        }
        (_, Some(block), Some(bit)) => format!(
            ", in block {}, from byte {} of the compressed data",
            block + 1,
            bit / 8
        ),
        (_, Some(block), None) => format!(", in block {}", block + 1),
        (_, None, None) => String::new(),
    };
    let said = format!("bzip2: {what}{at}");
    match inner.kind {
        ErrorKind::TrailingData => after_the_end(said),
        _ => io::Error::new(e.kind(), said),
    }
}

/// The text of LZ4 data (`lz4`'s frames, one after another, or its legacy format), with
/// lz4_flex. Its reader ends each frame with a read of nothing, and the input too, even one
/// cut inside a frame's header (after its magic number): the input has ended well only
/// where a frame would begin.
pub fn lz4<R: Read>(input: R) -> Lz4<R> {
    let input = Watched {
        inner: input,
        ended: false,
        read: 0,
    };
    Lz4 {
        frames: lz4_flex::frame::FrameDecoder::new(input),
        boundary: 0,
    }
}

/// LZ4 frames as one text.
pub struct Lz4<R: Read> {
    frames: lz4_flex::frame::FrameDecoder<Watched<R>>,
    /// The input's bytes read when the last frame ended.
    boundary: u64,
}

/// A reader that notes how much of its input was read, and whether all of it.
struct Watched<R> {
    inner: R,
    ended: bool,
    read: u64,
}

impl<R: Read> Read for Watched<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ended |= n == 0 && !buf.is_empty();
        self.read += n as u64;
        Ok(n)
    }
}

impl<R: Read> Read for Lz4<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            let n = match self.frames.read(buf) {
                Ok(n) => n,
                Err(e) => match lz4_error(e) {
                    // Its header read: its content is skipped, as `lz4 -dc` skips it.
                    Lz4Error::Skippable(len) => {
                        let input = self.frames.get_mut();
                        let skipped = io::copy(&mut input.take(len), &mut io::sink())?;
                        if skipped < len {
                            return Err(ends_early());
                        }
                        self.boundary = input.read;
                        continue;
                    }
                    Lz4Error::Other(e) => return Err(e),
                },
            };
            let input = self.frames.get_ref();
            match n {
                1.. => return Ok(n),
                0 if !input.ended => self.boundary = input.read,
                0 if input.read > self.boundary => return Err(ends_early()),
                0 => return Ok(0),
            }
        }
    }
}

/// What an LZ4 reading error is: a skippable frame (of this many bytes after its header),
/// or damage, said in words.
enum Lz4Error {
    Skippable(u64),
    Other(io::Error),
}

fn lz4_error(e: io::Error) -> Lz4Error {
    use lz4_flex::frame::Error;
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return Lz4Error::Other(ends_early());
    }
    let Some(inner) = e.get_ref().and_then(|e| e.downcast_ref::<Error>()) else {
        return Lz4Error::Other(e);
    };
    let what = match inner {
        Error::SkippableFrame(len) => return Lz4Error::Skippable(u64::from(*len)),
        Error::DecompressionError(_) => "a block does not decode".to_string(),
        Error::UnsupportedBlocksize(n) => format!("a frame's block size ({n}) is not one LZ4 has"),
        Error::UnsupportedVersion(v) => format!("a frame of version {v}, which is not LZ4's"),
        // Only after a frame: the first one's magic was sniffed.
        Error::WrongMagicNumber => {
            let e = "lz4: the bytes after a frame are not an LZ4 frame";
            return Lz4Error::Other(after_the_end(e));
        }
        Error::ReservedBitsSet | Error::InvalidBlockInfo => {
            "a frame's or block's header is malformed".to_string()
        }
        Error::BlockTooBig => "a block is larger than its frame allows".to_string(),
        Error::HeaderChecksumError => "a frame's header does not match its checksum".to_string(),
        Error::BlockChecksumError => "a block does not match its checksum".to_string(),
        Error::ContentChecksumError => {
            let e = "lz4: a frame's text does not match its checksum";
            return Lz4Error::Other(mismatch(e));
        }
        Error::DictionaryNotSupported => {
            "a frame needs a dictionary, which is not supported".to_string()
        }
        Error::ContentLengthError { expected, actual } => {
            format!("a frame's text is {actual} bytes where its header says {expected}")
        }
        other => format!("{other}"),
    };
    Lz4Error::Other(io::Error::new(e.kind(), format!("lz4: {what}")))
}

/// What an error this module marks says of the text handed out before it (`before`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before {
    /// It is whole: the error is of bytes after the last whole stream (member, frame) that
    /// begin no other (`after_the_end`).
    Whole,
    /// It decoded, but not as its checksum says: some of it may be wrong (`mismatch`).
    Unverified,
}

/// An error carried in an `io::Error`, for the caller to tell from damage (`before`).
#[derive(Debug)]
struct Marked(String, Before);

impl std::fmt::Display for Marked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Marked {}

/// The error of bytes after the end of the compressed data (`what` says which): `zcat`
/// and `bzcat` warn of such "trailing garbage" after printing all of the text.
pub fn after_the_end(what: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        Marked(what.into(), Before::Whole),
    )
}

/// The error of a text (a member's, a frame's) that decoded but does not match its
/// checksum: `zcat` and `lz4 -dc` print it before they fail.
pub fn mismatch(what: impl Into<String>) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        Marked(what.into(), Before::Unverified),
    )
}

/// What `e` says of the text read before it, when this module marked it.
pub fn before(e: &io::Error) -> Option<Before> {
    let marked = e.get_ref()?.downcast_ref::<Marked>()?;
    Some(marked.1)
}

/// Whether `e` is `after_the_end`'s: the text read before it is whole.
pub fn is_after_the_end(e: &io::Error) -> bool {
    before(e) == Some(Before::Whole)
}

/// The error of data that ends before its stream (frame, block) does: cut short.
pub fn ends_early() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the compressed data ends early",
    )
}

/// zstd, with the zstd crate (libzstd).
pub struct Zstd {
    decoder: zstd::stream::raw::Decoder<'static>,
    /// A frame is begun and not yet complete.
    in_frame: bool,
    /// The largest window (log2 of its bytes) a frame may ask for.
    window_log_max: u32,
    /// Zero bytes were met where a frame would begin.
    zeros: bool,
}

/// The text of zstd data, whose frames may ask for a window of up to 2^`window_log_max`
/// bytes: libzstd's default stops at 128 MiB (2^27), which `zstd --long=28` and past
/// exceed (`zstd -d` asks for `--long` or `--memory` then).
pub fn zstd<R: BufRead>(input: R, window_log_max: u32) -> io::Result<Text<R, Zstd>> {
    let mut decoder = zstd::stream::raw::Decoder::new()?;
    decoder.set_parameter(zstd::zstd_safe::DParameter::WindowLogMax(window_log_max))?;
    let decoder = Zstd {
        decoder,
        in_frame: false,
        window_log_max,
        zeros: false,
    };
    Ok(Text::new(input, decoder))
}

/// What follows a zstd frame when it is not one.
const NOT_A_ZSTD_FRAME: &str = "the bytes after a frame are not a zstd frame";

/// The room zstd is given a step: one block's text at most (`ZSTD_BLOCKSIZE_MAX`, what
/// `zstdcat` gives it), so that a step that fails holds no more than the block that did.
const ZSTD_ROOM: usize = 128 << 10;

impl Step for Zstd {
    fn step(&mut self, input: &[u8], out: &mut [u8], end: bool) -> Stepped {
        // Zero bytes where a frame would begin (no frame begins so) are padding, ignored at
        // the end as `zstdcat` ignores them; anything after them is damage.
        if !self.in_frame && (self.zeros || input.first() == Some(&0)) {
            let n = input.iter().take_while(|&&b| b == 0).count();
            self.zeros = true;
            if n < input.len() {
                return (
                    n,
                    0,
                    Err(after_the_end(format!("zstd: {NOT_A_ZSTD_FRAME}"))),
                );
            }
            return (n, 0, Ok(end));
        }
        use zstd::stream::raw::{InBuffer, Operation, OutBuffer};
        let room = out.len().min(ZSTD_ROOM);
        let mut src = InBuffer::around(input);
        let mut dst = OutBuffer::around(&mut out[..room]);
        // With no input left, a step only hands out text zstd holds.
        let hint = self.decoder.run(&mut src, &mut dst);
        let (i, o) = (src.pos(), dst.pos());
        match hint {
            Ok(hint) => {
                if i > 0 || o > 0 {
                    self.in_frame = hint != 0;
                }
                (i, o, Ok(end && o == 0 && !self.in_frame))
            }
            Err(e) => (i, o, Err(zstd_error(e, self.in_frame, self.window_log_max))),
        }
    }
}

/// libzstd's error ("Data corruption detected") in our words; `in_frame`: met inside a
/// frame, else where one would begin; `window_log_max`: the largest window allowed.
fn zstd_error(e: io::Error, in_frame: bool, window_log_max: u32) -> io::Error {
    let what = e.to_string();
    let what = match what.as_str() {
        "Unknown frame descriptor" if !in_frame => {
            return after_the_end(format!("zstd: {NOT_A_ZSTD_FRAME}"));
        }
        "Restored data doesn't match checksum" => {
            return mismatch("zstd: a frame's text does not match its checksum");
        }
        "Frame requires too much memory for decoding" => format!(
            "a frame asks for a window larger than the {} MiB allowed (`zstd --long=31`?); \
             decode it with `zstd -dc --long=31` and pipe the text in",
            1u64 << window_log_max.saturating_sub(20)
        ),
        _ => {
            let mut words = what.chars();
            let first = words.next().map(|c| c.to_ascii_lowercase());
            first.into_iter().chain(words).collect()
        }
    };
    io::Error::new(e.kind(), format!("zstd: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Xz,
        /// Blocks of 64 KiB, decoded on two threads.
        XzThreaded,
        Bzip2,
        /// Decoded on two threads.
        Bzip2Threaded,
        Zstd,
        Lz4,
        /// Not in `KINDS`: flate2's own readers keep the text before damage already.
        Gzip,
    }
    const KINDS: [Kind; 6] = [
        Kind::Xz,
        Kind::XzThreaded,
        Kind::Bzip2,
        Kind::Bzip2Threaded,
        Kind::Zstd,
        Kind::Lz4,
    ];

    fn compress(kind: Kind, text: &[u8]) -> Vec<u8> {
        match kind {
            Kind::Xz => liblzma::encode_all(text, 1).unwrap(),
            Kind::XzThreaded => xz_blocks(text, 64 << 10),
            Kind::Bzip2 | Kind::Bzip2Threaded => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
            Kind::Zstd => zstd::encode_all(text, 1).unwrap(),
            Kind::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
            // With the checksum of its content, as `lz4` writes it, in blocks of 256 KiB
            // (`lz4 -B5`) so that a cut halfway keeps some.
            Kind::Lz4 => {
                use lz4_flex::frame::{BlockSize, FrameInfo};
                let info = FrameInfo::new()
                    .content_checksum(true)
                    .block_size(BlockSize::Max256KB);
                let mut e = lz4_flex::frame::FrameEncoder::with_frame_info(info, Vec::new());
                e.write_all(text).unwrap();
                e.finish().unwrap()
            }
        }
    }

    /// `text` as one xz stream of blocks of `block` bytes (`xz -T2` writes blocks of
    /// 24 MiB).
    fn xz_blocks(text: &[u8], block: u64) -> Vec<u8> {
        let stream = liblzma::stream::MtStreamBuilder::new()
            .threads(2)
            .block_size(block)
            .preset(1)
            .encoder()
            .unwrap();
        let mut e = liblzma::write::XzEncoder::new_stream(Vec::new(), stream);
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    /// What `Text` reads from `data` in pieces of `piece` bytes: the text, and the error
    /// that ended it if one did.
    fn read(kind: Kind, data: &[u8], piece: usize) -> (Vec<u8>, Option<io::Error>) {
        let input = io::BufReader::with_capacity(4096, data);
        let mut r: Box<dyn Read> = match kind {
            Kind::Xz => Box::new(xz(input, 1 << 30, 1).unwrap()),
            Kind::XzThreaded => Box::new(xz(input, 1 << 30, 2).unwrap()),
            Kind::Bzip2 => Box::new(bzip2(io::Cursor::new(data.to_vec()), 1)),
            Kind::Bzip2Threaded => Box::new(bzip2(io::Cursor::new(data.to_vec()), 2)),
            Kind::Zstd => Box::new(zstd(input, 27).unwrap()),
            Kind::Lz4 => Box::new(lz4(input)),
            Kind::Gzip => Box::new(gzip(input)),
        };
        let mut text = Vec::new();
        let mut buf = vec![0u8; piece];
        loop {
            match r.read(&mut buf) {
                Ok(0) => return (text, None),
                Ok(n) => text.extend_from_slice(&buf[..n]),
                Err(e) => return (text, Some(e)),
            }
        }
    }

    /// What the crate's own reader gives, read in 4 MiB pieces.
    fn library(kind: Kind, data: &[u8]) -> Vec<u8> {
        let mut r: Box<dyn Read> = match kind {
            Kind::Xz | Kind::XzThreaded => {
                Box::new(liblzma::read::XzDecoder::new_multi_decoder(data))
            }
            Kind::Bzip2 | Kind::Bzip2Threaded => Box::new(bzip2::read::MultiBzDecoder::new(data)),
            Kind::Zstd => Box::new(zstd::stream::read::Decoder::new(data).unwrap()),
            Kind::Lz4 => Box::new(lz4_flex::frame::FrameDecoder::new(data)),
            Kind::Gzip => Box::new(flate2::read::MultiGzDecoder::new(data)),
        };
        let (mut text, mut buf) = (Vec::new(), vec![0u8; 4 << 20]);
        while let Ok(n @ 1..) = r.read(&mut buf) {
            text.extend_from_slice(&buf[..n]);
        }
        text
    }

    fn lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|k| {
                format!("10.0.0.{} \"PUT /o/{k} HTTP/1.1\" 409 {k}\n", k % 9).into_bytes()
            })
            .collect()
    }

    /// Streams one after another are one text, whatever the reader's pieces; an empty one
    /// among them adds nothing; no data at all is no text.
    #[test]
    fn streams_are_one_text() {
        let (a, b) = (lines(20_000), lines(3));
        for kind in KINDS {
            let mut data = compress(kind, &a);
            data.extend(compress(kind, b""));
            data.extend(compress(kind, &b));
            for piece in [1, 1000, 4 << 20] {
                let (text, e) = read(kind, &data, piece);
                assert!(e.is_none(), "{kind:?} {e:?}");
                assert_eq!(text, [&a[..], &b[..]].concat(), "{kind:?} {piece}");
            }
            assert_eq!(read(kind, &compress(kind, b""), 100).0, b"", "{kind:?}");
        }
    }

    /// Past damage (garbage after the last stream, a changed byte, a cut) the text decoded
    /// before it is there, the error follows, and big reads give what reads of one byte
    /// give (of a block's room, for zstd); liblzma's and zstd's own readers give less.
    #[test]
    fn damage_keeps_the_text_before_it() {
        let text = lines(150_000);
        for kind in KINDS {
            let whole = compress(kind, &text);
            let mut trailing = whole.clone();
            trailing.extend(b"trailing garbage\n");
            let (got, e) = read(kind, &trailing, 4 << 20);
            assert_eq!((got.len(), e.is_some()), (text.len(), true), "{kind:?}");
            assert!(is_after_the_end(&e.unwrap()), "{kind:?}");

            let mut flipped = whole.clone();
            flipped[whole.len() * 3 / 4] ^= 0x55;
            let small = match kind {
                Kind::Zstd => ZSTD_ROOM,
                _ => 1,
            };
            let (most, e) = read(kind, &flipped, small);
            assert!(
                e.is_some() && most.len() > text.len() / 2,
                "{kind:?} {}",
                most.len()
            );
            let (got, e) = read(kind, &flipped, 4 << 20);
            assert_eq!((got.len(), e.is_some()), (most.len(), true), "{kind:?}");
            assert!(!is_after_the_end(&e.unwrap()), "{kind:?}");
            assert_eq!(got, most, "{kind:?}");
            let theirs = library(kind, &flipped);
            match kind {
                // Each block's text is handed out once its CRC is checked: none of the
                // damaged block's, all of those before it (as much as libbzip2's reader).
                Kind::Bzip2 | Kind::Bzip2Threaded => {
                    assert!(text.starts_with(&got), "{kind:?}");
                    assert!(theirs.len() <= got.len(), "{kind:?}");
                }
                // The checksum is of the whole frame: all its text (changed), then the
                // error, as `lz4 -dc` prints it; lz4_flex's reader keeps that already.
                Kind::Lz4 => assert_eq!(got, theirs),
                _ => assert!(
                    theirs.len() < got.len(),
                    "{kind:?}: {} {}",
                    theirs.len(),
                    got.len()
                ),
            }

            let cut = &whole[..whole.len() / 2];
            let (got, e) = read(kind, cut, 4 << 20);
            let e = e.unwrap();
            assert!(!is_after_the_end(&e), "{kind:?}");
            match kind {
                Kind::Bzip2 | Kind::Bzip2Threaded => assert!(e.to_string().contains("ends early")),
                _ => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "{kind:?}"),
            }
            assert!(
                !got.is_empty() && text.starts_with(&got),
                "{kind:?} {} {e}",
                got.len()
            );
        }
    }

    /// Damage is told with the format's name and what is wrong in words (mibz2 counts
    /// blocks from 0 and places them by bit; lz4_flex names its errors as in its code).
    #[test]
    fn damage_is_said_in_words() {
        let text = lines(150_000);
        let said = |kind, data: &[u8]| read(kind, data, 1 << 16).1.unwrap().to_string();
        for (kind, trailing, flipped) in [
            (
                Kind::Xz,
                "xz: the bytes after a stream are not an xz stream",
                "xz: the data is corrupt",
            ),
            (
                Kind::XzThreaded,
                "xz: the bytes after a stream are not an xz stream",
                "xz: the data is corrupt",
            ),
            (
                Kind::Bzip2,
                "bzip2: the bytes after a stream are not a bzip2 stream, at byte ",
                "bzip2: block CRC mismatch",
            ),
            (
                Kind::Zstd,
                "zstd: the bytes after a frame are not a zstd frame",
                "zstd: ",
            ),
            (
                Kind::Lz4,
                "lz4: the bytes after a frame are not an LZ4 frame",
                "lz4: ",
            ),
        ] {
            let whole = compress(kind, &text);
            let garbage = [&whole[..], b"trailing garbage\n"].concat();
            let e = said(kind, &garbage);
            assert!(e.starts_with(trailing), "{kind:?}: {e}");
            let mut damaged = whole.clone();
            damaged[whole.len() * 3 / 4] ^= 0x55;
            let e = said(kind, &damaged);
            assert!(e.starts_with(flipped), "{kind:?}: {e}");
        }
        let whole = compress(Kind::Bzip2, &text);
        let garbage = [&whole[..], b"trailing garbage\n"].concat();
        let e = said(Kind::Bzip2, &garbage);
        assert!(
            e.ends_with(&format!(" at byte {} of the compressed data", whole.len())),
            "{e}"
        );
        let e = said(Kind::Bzip2, &whole[..whole.len() / 2]);
        assert!(
            e.starts_with("bzip2: the compressed data ends early, in block ")
                && e.contains(" of the compressed data"),
            "{e}"
        );
    }

    /// A text that decodes but does not match its stored checksum (changed here) is handed
    /// out, as `zcat` and `lz4 -dc` print it (zstd's but its last block), and the error says
    /// so: not a cut, not bytes after the end.
    #[test]
    fn a_checksum_mismatch_is_told_apart() {
        let text = lines(20_000);
        let mut checked = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
        checked.include_checksum(true).unwrap();
        checked.write_all(&text).unwrap();
        // The stored checksum's first byte, from the end: gzip's CRC-32 then length, zstd's
        // and LZ4's checksum last.
        for (kind, data, from_end) in [
            (Kind::Gzip, compress(Kind::Gzip, &text), 8),
            (Kind::Zstd, checked.finish().unwrap(), 4),
            (Kind::Lz4, compress(Kind::Lz4, &text), 4),
        ] {
            let (got, e) = read(kind, &data, 1 << 16);
            assert!(e.is_none() && got == text, "{kind:?}");
            let mut bad = data.clone();
            let n = bad.len();
            bad[n - from_end] ^= 1;
            let (got, e) = read(kind, &bad, 1 << 16);
            let e = e.unwrap();
            assert_eq!(before(&e), Some(Before::Unverified), "{kind:?}: {e}");
            assert!(
                text.starts_with(&got) && got.len() > text.len() / 2,
                "{kind:?}"
            );
        }
    }

    /// Zero bytes after the last gzip member or zstd frame (a file padded to a block) are
    /// ignored, as `zcat` and `zstdcat` ignore them, however many and however read; zeros
    /// followed by more data are bytes after the end, told after the whole text.
    #[test]
    fn zero_padding_after_the_end_is_ignored() {
        let (a, b) = (lines(2000), lines(5));
        for kind in [Kind::Gzip, Kind::Zstd] {
            let two = [compress(kind, &a), compress(kind, &b)].concat();
            for zeros in [1, 3, 4, 10, 100_000] {
                let padded = [&two[..], &vec![0u8; zeros]].concat();
                for piece in [1, 1000, 1 << 20] {
                    let (text, e) = read(kind, &padded, piece);
                    assert!(e.is_none(), "{kind:?} {zeros} {piece}: {e:?}");
                    assert_eq!(text, [&a[..], &b[..]].concat(), "{kind:?} {zeros}");
                }
            }
            let then_more = [compress(kind, &a), vec![0u8; 10], compress(kind, &b)].concat();
            let (text, e) = read(kind, &then_more, 1000);
            assert_eq!(text, a);
            let e = e.unwrap();
            assert!(is_after_the_end(&e), "{kind:?}");
            assert!(
                e.to_string().contains(": the bytes after a "),
                "{kind:?}: {e}"
            );
        }
        // After bzip2's last stream or LZ4's last frame, zeros are bytes after the end
        // (`bzcat` warns of them, `lz4 -dc` fails on them): all of the text, then that.
        for kind in [Kind::Bzip2, Kind::Bzip2Threaded, Kind::Lz4] {
            let padded = [compress(kind, &a), vec![0u8; 512]].concat();
            for piece in [1, 1000, 1 << 20] {
                let (text, e) = read(kind, &padded, piece);
                assert_eq!(text, a, "{kind:?} {piece}");
                assert!(is_after_the_end(&e.unwrap()), "{kind:?} {piece}");
            }
        }
    }

    /// Skippable frames (metadata some writers put between LZ4 frames) are skipped, as
    /// `lz4 -dc` skips them; one cut short is an input that ends early.
    #[test]
    fn lz4_skippable_frames_are_skipped() {
        let skippable = |n: usize| {
            let mut f = vec![0x5a, 0x2a, 0x4d, 0x18];
            f.extend((n as u32).to_le_bytes());
            f.extend(vec![0xab; n]);
            f
        };
        let (a, b) = (lines(10), lines(20));
        let data = [
            skippable(3),
            compress(Kind::Lz4, &a),
            skippable(0),
            skippable(100_000),
            compress(Kind::Lz4, &b),
            skippable(7),
        ]
        .concat();
        for piece in [1, 1000, 1 << 20] {
            let (text, e) = read(Kind::Lz4, &data, piece);
            assert!(e.is_none(), "{e:?}");
            assert_eq!(text, [&a[..], &b[..]].concat(), "{piece}");
        }
        let (text, e) = read(Kind::Lz4, &data[..data.len() - 3], 1000);
        assert_eq!(text, [&a[..], &b[..]].concat());
        assert_eq!(e.unwrap().kind(), io::ErrorKind::UnexpectedEof);
    }

    /// A zstd frame with a window past libzstd's default 128 MiB (`zstd --long=28`) is
    /// decoded when the limit allows it, else refused with a message that says what to do.
    #[test]
    fn zstd_long_windows_are_allowed_up_to_the_limit() {
        let text = lines(1000);
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.set_parameter(zstd::zstd_safe::CParameter::WindowLog(28))
            .unwrap();
        e.write_all(&text).unwrap();
        let long = e.finish().unwrap();
        let read = |limit| {
            let mut got = Vec::new();
            let r = zstd(io::BufReader::new(&long[..]), limit)
                .unwrap()
                .read_to_end(&mut got);
            (got, r.err())
        };
        let (got, e) = read(28);
        assert!(e.is_none(), "{e:?}");
        assert_eq!(got, text);
        let (got, e) = read(27);
        assert!(got.is_empty());
        let e = e.unwrap().to_string();
        assert!(
            e.starts_with("zstd: a frame asks for a window larger than the 128 MiB allowed")
                && e.contains("zstd -dc --long=31"),
            "{e}"
        );
    }

    /// LZ4 input cut inside a frame's header (lz4_flex's reader ends there with a read of
    /// nothing, as at a frame's end) is an error, as `lz4 -dc` says; an empty frame is
    /// not, nor is the input ending where a frame would begin.
    #[test]
    fn lz4_cut_inside_a_header_is_an_error() {
        let one = compress(Kind::Lz4, &lines(10));
        let empty = compress(Kind::Lz4, b"");
        for cut in [4, 5, 6] {
            let data = [&one[..], &one[..cut]].concat();
            let (text, e) = read(Kind::Lz4, &data, 1000);
            assert_eq!(text, lines(10), "{cut}");
            assert_eq!(e.unwrap().kind(), io::ErrorKind::UnexpectedEof, "{cut}");
            let (text, e) = read(Kind::Lz4, &one[..cut], 1000);
            assert!(text.is_empty() && e.is_some(), "{cut}");
        }
        let data = [&empty[..], &one, &empty, &empty, &one, &empty].concat();
        let (text, e) = read(Kind::Lz4, &data, 7);
        assert!(e.is_none(), "{e:?}");
        assert_eq!(text, [lines(10), lines(10)].concat());
    }

    /// A decoder that takes no input and gives no text twice in a row is an error, not a
    /// read that never returns; once (a stream's end met with nothing to do) is not.
    #[test]
    fn a_stuck_decoder_is_an_error() {
        struct Stuck(usize);
        impl Step for Stuck {
            fn step(&mut self, _: &[u8], out: &mut [u8], _: bool) -> Stepped {
                self.0 += 1;
                match self.0 {
                    // Text, then one idle step, then text again: fine.
                    1 | 3 => {
                        out[0] = b'x';
                        (0, 1, Ok(false))
                    }
                    _ => (0, 0, Ok(false)),
                }
            }
        }
        let mut r = Text::new(&b"input"[..], Stuck(0));
        let mut buf = [0u8; 8];
        assert_eq!(r.read(&mut buf).unwrap(), 1);
        assert_eq!(r.read(&mut buf).unwrap(), 1);
        let e = r.read(&mut buf).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        assert_eq!(r.decoder.0, 5);
    }

    /// An xz stream that asks its decoder for more memory than allowed is refused, on one
    /// thread or more.
    #[test]
    fn xz_memory_past_the_limit_is_refused() {
        let text = lines(10);
        for (data, threads) in [
            (compress(Kind::Xz, &text), 1),
            (compress(Kind::XzThreaded, &text), 2),
        ] {
            let e = xz(&data[..], 64 << 10, threads)
                .unwrap()
                .read_to_end(&mut Vec::new())
                .unwrap_err();
            assert!(e.to_string().contains("limit"), "{threads} {e}");
        }
    }

    /// The threaded xz decoder joins streams as liblzma joins them for one thread: the zero
    /// bytes between and after them (stream padding) must come in fours.
    #[test]
    fn xz_streams_join_alike_on_threads() {
        let (a, b) = (lines(3000), lines(7));
        let (sa, sb) = (xz_blocks(&a, 4096), xz_blocks(&b, 4096));
        for zeros in 0..9 {
            let pad = vec![0u8; zeros];
            for (data, last) in [
                ([&sa[..], &pad, &sb].concat(), false),
                ([&sa[..], &pad].concat(), true),
            ] {
                let one = read(Kind::Xz, &data, 1000);
                for piece in [1, 1000, 4 << 20] {
                    let threaded = read(Kind::XzThreaded, &data, piece);
                    assert_eq!(threaded.0, one.0, "{zeros} {piece}");
                    assert_eq!(threaded.1.is_some(), one.1.is_some(), "{zeros} {piece}");
                }
                assert_eq!(one.1.is_none(), zeros % 4 == 0, "{zeros}");
                // Bad padding at the end follows the whole text; before a stream, damage.
                if let Some(e) = &one.1 {
                    assert_eq!(is_after_the_end(e), last, "{zeros}");
                }
            }
        }
    }
}
