//! xz input (`logrotate` with `compresscmd xz`), decoded as a stream with liblzma: the
//! streams a file holds one after another (`cat a.xz b.xz`) are one text, as `xzcat`
//! reads them.
//!
//! Why not liblzma's own reader: when the data goes bad (a flipped byte, garbage after the
//! last stream), it drops the text the failing call had already decoded, up to the caller's
//! whole buffer (a 4 MiB block here), where `xzcat` prints it before its error. `Text`
//! hands that text out first and tells the error on the next read, so a damaged file keeps
//! all of its text that decodes, as the other compressed inputs do.

use liblzma::stream::{Action, CONCATENATED, Status, Stream};
use std::io::{self, BufRead, Read};

/// The text of the xz streams `input` holds, one after another.
pub struct Text<R> {
    input: R,
    stream: Stream,
    /// An error met while the text before it was handed out: told on the next read.
    pending: Option<io::Error>,
}

impl<R: BufRead> Text<R> {
    /// A decoder that refuses a stream asking for more than `memory_limit` bytes (its
    /// dictionary, mostly: `xz -9` asks for 65 MiB).
    pub fn new(input: R, memory_limit: u64) -> io::Result<Text<R>> {
        Ok(Text {
            input,
            stream: Stream::new_stream_decoder(memory_limit, CONCATENATED)?,
            pending: None,
        })
    }
}

impl<R: BufRead> Read for Text<R> {
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
            let (out, consumed) = (self.stream.total_out(), self.stream.total_in());
            let action = if end { Action::Finish } else { Action::Run };
            let status = self.stream.process(input, buf, action);
            let n = (self.stream.total_out() - out) as usize;
            let consumed = (self.stream.total_in() - consumed) as usize;
            self.input.consume(consumed);
            match status {
                Err(e) if n > 0 => {
                    self.pending = Some(e.into());
                    return Ok(n);
                }
                Err(e) => return Err(e.into()),
                Ok(Status::StreamEnd) => return Ok(n),
                Ok(_) if n > 0 => return Ok(n),
                Ok(_) if end => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the xz data ends early",
                    ));
                }
                Ok(_) if consumed == 0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "the xz decoder makes no progress",
                    ));
                }
                Ok(_) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xz(text: &[u8]) -> Vec<u8> {
        liblzma::encode_all(text, 1).unwrap()
    }

    /// What `Text` reads from `data` read in pieces of `piece` bytes: the text and the error
    /// that ended it, if one did.
    fn read(data: &[u8], piece: usize) -> (Vec<u8>, Option<io::Error>) {
        let mut r = Text::new(io::BufReader::with_capacity(4096, data), 1 << 30).unwrap();
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

    fn lines(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|k| format!("10.0.0.{} \"PUT /o/{k} HTTP/1.1\" 409\n", k % 9).into_bytes())
            .collect()
    }

    /// Streams one after another are one text, whatever the reader's buffer; an empty one
    /// among them adds nothing.
    #[test]
    fn streams_are_one_text() {
        let (a, b) = (lines(20_000), lines(3));
        let mut data = xz(&a);
        data.extend(xz(b""));
        data.extend(xz(&b));
        for piece in [1, 1000, 4 << 20] {
            let (text, e) = read(&data, piece);
            assert!(e.is_none(), "{e:?}");
            assert_eq!(text, [&a[..], &b[..]].concat(), "{piece}");
        }
    }

    /// Past damage (garbage after the last stream, a changed byte, a cut), the text decoded
    /// before it is all there, as `xzcat` prints it, and the error follows; liblzma's own
    /// reader loses the text of the call that met the damage.
    #[test]
    fn damage_keeps_the_text_before_it() {
        let text = lines(100_000);
        let whole = xz(&text);
        let mut trailing = whole.clone();
        trailing.extend(b"trailing garbage\n");
        let (got, e) = read(&trailing, 4 << 20);
        assert_eq!((got.len(), e.is_some()), (text.len(), true));

        let mut flipped = whole.clone();
        flipped[whole.len() / 2] ^= 0xff;
        let cut = &whole[..whole.len() / 2];
        for damaged in [&flipped[..], cut] {
            // One byte at a time, the decoder hands out each byte as it decodes it: the
            // most text there is before the damage.
            let (most, e) = read(damaged, 1);
            assert!(e.is_some() && !most.is_empty());
            let (got, e) = read(damaged, 4 << 20);
            assert_eq!((got, e.is_some()), (most, true));
        }
        let (got, e) = read(cut, 4 << 20);
        assert_eq!(e.unwrap().kind(), io::ErrorKind::UnexpectedEof);
        assert!(!got.is_empty() && text.starts_with(&got));
    }

    /// A stream that asks its decoder for more memory than allowed is refused.
    #[test]
    fn memory_past_the_limit_is_refused() {
        let data = xz(&lines(10));
        let mut r = Text::new(&data[..], 64 << 10).unwrap();
        let e = r.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
    }
}
