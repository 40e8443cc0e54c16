//! Where a report goes: stdout, a file, or a file compressed as its name says
//! (`-o report.json.gz`): scheduled reports are kept as logs are, and `why409 diff` reads
//! them back compressed.
//!
//! gzip, zstd, xz and LZ4 are written; a `.bz2` name is refused (why409 only decodes bzip2)
//! rather than given plain text under a compressed name.

use crate::input::Compression;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, StdoutLock, Write};
use std::path::Path;

/// The compression `path`'s name asks a report to be written in (`Compression::None` for
/// plain text); an error for bzip2, which is not written.
pub fn compression_of(path: &Path) -> Result<Compression, String> {
    match Compression::by_name(path) {
        Compression::Bzip2 => Err(bzip2_refused(path)),
        c => Ok(c),
    }
}

fn bzip2_refused(path: &Path) -> String {
    format!(
        "-o {}: why409 writes .gz, .zst, .xz and .lz4, not bzip2 (pipe the report to bzip2 instead)",
        path.display()
    )
}

/// A report's destination; `finish` must end it (a compressed file's last block and
/// trailer are written then, and their errors told).
pub struct Sink {
    to: To,
    to_terminal: bool,
}

enum To {
    Stdout(BufWriter<StdoutLock<'static>>),
    File(BufWriter<File>),
    Gzip(flate2::write::GzEncoder<BufWriter<File>>),
    Zstd(zstd::stream::write::Encoder<'static, BufWriter<File>>),
    Xz(liblzma::write::XzEncoder<BufWriter<File>>),
    Lz4(lz4_flex::frame::FrameEncoder<BufWriter<File>>),
}

impl Sink {
    /// Stdout, or the file `out` created (and compressed as its name says).
    pub fn open(out: Option<&Path>) -> Result<Sink> {
        let Some(path) = out else {
            return Ok(Sink {
                to: To::Stdout(BufWriter::new(io::stdout().lock())),
                to_terminal: io::stdout().is_terminal(),
            });
        };
        let file = || -> Result<BufWriter<File>> {
            let f =
                File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
            Ok(BufWriter::new(f))
        };
        let to = match Compression::by_name(path) {
            Compression::None => To::File(file()?),
            Compression::Gzip => To::Gzip(flate2::write::GzEncoder::new(
                file()?,
                flate2::Compression::default(),
            )),
            Compression::Zstd => To::Zstd(
                zstd::stream::write::Encoder::new(file()?, 3)
                    .with_context(|| format!("{}: cannot start zstd", path.display()))?,
            ),
            Compression::Xz => To::Xz(liblzma::write::XzEncoder::new(file()?, 6)),
            Compression::Lz4 => To::Lz4(lz4_flex::frame::FrameEncoder::new(file()?)),
            // Refused before the file is created.
            Compression::Bzip2 => bail!(bzip2_refused(path)),
        };
        Ok(Sink {
            to,
            to_terminal: false,
        })
    }

    /// Whether the report goes to a terminal (tables fit it, colour may be used).
    pub fn to_terminal(&self) -> bool {
        self.to_terminal
    }

    /// Writes out what is buffered, a compressed file's end with it.
    pub fn finish(self) -> io::Result<()> {
        let mut file = match self.to {
            To::Stdout(mut w) => return w.flush(),
            To::File(w) => w,
            To::Gzip(w) => w.finish()?,
            To::Zstd(w) => w.finish()?,
            To::Xz(w) => w.finish()?,
            To::Lz4(w) => w.finish().map_err(io::Error::other)?,
        };
        file.flush()
    }

    fn writer(&mut self) -> &mut dyn Write {
        match &mut self.to {
            To::Stdout(w) => w,
            To::File(w) => w,
            To::Gzip(w) => w,
            To::Zstd(w) => w,
            To::Xz(w) => w,
            To::Lz4(w) => w,
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.writer().write_all(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    /// The last extension says the compression; bzip2 is refused, other names are plain.
    #[test]
    fn names_say_the_compression() {
        let of = |p: &str| compression_of(Path::new(p));
        assert_eq!(of("r.json.gz"), Ok(Compression::Gzip));
        assert_eq!(of("r.md.ZST"), Ok(Compression::Zstd));
        assert_eq!(of("r.xz"), Ok(Compression::Xz));
        assert_eq!(of("dir.gz/r.lz4"), Ok(Compression::Lz4));
        assert_eq!(of("r.json"), Ok(Compression::None));
        assert_eq!(of("report"), Ok(Compression::None));
        assert!(of("r.json.bz2").unwrap_err().contains("not bzip2"));
    }

    /// Each compression's file decodes to what was written.
    #[test]
    fn compressed_files_decode_to_the_text() {
        let dir = tempfile::tempdir().unwrap();
        let text = "{\"schema\": \"why409.report/v1\"}\n".repeat(1000);
        for name in [
            "r.json",
            "r.json.gz",
            "r.json.zst",
            "r.json.xz",
            "r.json.lz4",
        ] {
            let path = dir.path().join(name);
            let mut sink = Sink::open(Some(&path)).unwrap();
            assert!(!sink.to_terminal());
            sink.write_all(text.as_bytes()).unwrap();
            sink.finish().unwrap();
            let raw = std::fs::File::open(&path).unwrap();
            let mut back = String::new();
            match Compression::by_name(&path) {
                Compression::Gzip => flate2::read::GzDecoder::new(raw).read_to_string(&mut back),
                Compression::Zstd => zstd::stream::read::Decoder::new(raw)
                    .unwrap()
                    .read_to_string(&mut back),
                Compression::Xz => liblzma::read::XzDecoder::new(raw).read_to_string(&mut back),
                Compression::Lz4 => {
                    lz4_flex::frame::FrameDecoder::new(raw).read_to_string(&mut back)
                }
                _ => io::BufReader::new(raw).read_to_string(&mut back),
            }
            .unwrap();
            assert_eq!(back, text, "{name}");
        }
    }
}
