//! A stream's plain text moved from its pipe into the temporary file it is read from, by the
//! kernel (`splice(2)`), without passing through this process.
//!
//! `kubectl logs deploy/api | why409 -` or `zcat access.log.*.gz | why409 -` hand over their
//! text through a pipe, and the analysis reads it twice (the scan, then the pass), so it is
//! kept in a temporary file first. Read into a buffer and written out, each byte was copied
//! twice on the way, on the cores the writer and the analysis also want: 1 GiB through
//! `cat |` took 0.79-1.16 s (median 0.96). Spliced, the kernel copies the pipe's pages into
//! the file's page cache itself: 0.54-1.11 s (median 0.70; ten interleaved runs on the test
//! machine, the pipe widened to 1 MiB).
//!
//! Only a plain text is spliced: a compressed one is decoded here. Where the kernel refuses
//! (a descriptor that is no pipe, a file system that cannot take spliced pages), the rest is
//! read and written as before.
//!
//! A pipe may come non-blocking (`O_NONBLOCK`, which some parents leave on the pipe they pass
//! as stdin): found empty, it says "try again" rather than waiting for its writer, and the
//! text ended there with a warning. Both ways of reading it wait for bytes instead
//! (`Stream`, `wait_readable`), as they would on a blocking pipe.

use super::room::Watched;
use crate::progress::Progress;
use std::fs::File;
use std::io::{self, Read};
use std::sync::Arc;

/// A stream read to its end whether or not it is non-blocking: a read that would block
/// waits until there are bytes to read.
pub struct Stream(pub File);

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => wait_readable(&self.0)?,
                got => return got,
            }
        }
    }
}

/// Waits until `f` has bytes to read, or its writer has closed it.
#[cfg(unix)]
fn wait_readable(f: &File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let mut ready = libc::pollfd {
        fd: f.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one pollfd, ours and live for the call, on an open descriptor.
        if unsafe { libc::poll(&mut ready, 1, -1) } >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Elsewhere a read that would block stays the error it was.
#[cfg(not(unix))]
fn wait_readable(_: &File) -> io::Result<()> {
    Err(io::ErrorKind::WouldBlock.into())
}

/// The pipe a stream is read from, whose bytes are counted as `progress` as they are moved.
pub struct Pipe {
    /// A duplicate of the stream's descriptor: reads through either move the same position,
    /// so what the reader took before is not moved again.
    fd: File,
    progress: Option<Arc<Progress>>,
}

/// What `Pipe::move_into` did.
#[derive(Debug)]
pub enum Moved {
    /// The stream's text up to its end (or up to the read error given) was moved: so many
    /// bytes.
    All(u64, Option<io::Error>),
    /// So many bytes were moved before the kernel refused to move more: the rest is to be
    /// read and written.
    Some(u64),
}

impl Pipe {
    /// The pipe under `stream` (a duplicate of its descriptor), if it is a pipe or a FIFO;
    /// `None` for anything else, which is read and written as before. The reader of
    /// `stream` must not buffer what it reads: bytes it took but did not hand over would be
    /// skipped.
    #[cfg(target_os = "linux")]
    pub fn of(stream: &File, progress: Option<&Arc<Progress>>) -> Option<Pipe> {
        use std::os::unix::fs::FileTypeExt;
        let fd = stream.try_clone().ok()?;
        fd.metadata().ok()?.file_type().is_fifo().then(|| Pipe {
            fd,
            progress: progress.cloned(),
        })
    }

    #[cfg(not(target_os = "linux"))]
    pub fn of(_: &File, _: Option<&Arc<Progress>>) -> Option<Pipe> {
        None
    }

    /// Moves what is left in the pipe to the end of `out`, at its offset, its disk's room
    /// watched. A write error (the disk full, or too little room left: `room`) is the
    /// `Err`, as for a copy through a buffer; any other error ends the text where it came,
    /// as a read error does.
    #[cfg(target_os = "linux")]
    pub fn move_into(&self, out: &mut Watched) -> io::Result<Moved> {
        use std::os::fd::AsRawFd;
        // As much as the pipe holds is moved per call, up to this.
        const AT_MOST: usize = 16 << 20;
        let mut moved = 0u64;
        loop {
            // SAFETY: both descriptors are open for the call (`self.fd` and `out` are
            // borrowed); null offsets have the kernel use and advance each file's own
            // position; no memory of ours is read or written.
            let n = unsafe {
                libc::splice(
                    self.fd.as_raw_fd(),
                    std::ptr::null_mut(),
                    out.file.as_raw_fd(),
                    std::ptr::null_mut(),
                    AT_MOST,
                    libc::SPLICE_F_MOVE,
                )
            };
            if n == 0 {
                return Ok(Moved::All(moved, None));
            }
            if n > 0 {
                moved += n as u64;
                if let Some(p) = &self.progress {
                    p.add(n as u64);
                }
                out.wrote(n as u64)?;
                continue;
            }
            let e = io::Error::last_os_error();
            match e.raw_os_error().unwrap_or(0) {
                libc::EINTR => {}
                // A non-blocking pipe empty for now.
                libc::EAGAIN => {
                    if let Err(e) = wait_readable(&self.fd) {
                        return Ok(Moved::All(moved, Some(e)));
                    }
                }
                // Not splicable here (no pipe after all, a file system without splice, an
                // appending file): the reader goes on.
                libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP => {
                    return Ok(Moved::Some(moved));
                }
                libc::ENOSPC | libc::EDQUOT | libc::EFBIG => return Err(e),
                _ => return Ok(Moved::All(moved, Some(e))),
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    pub fn move_into(&self, _: &mut Watched) -> io::Result<Moved> {
        Ok(Moved::Some(0))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use crate::input::room::{self, Room};
    use std::io::{Read, Seek, Write};

    /// `Pipe::move_into` of `out` watched by `room`.
    fn move_watched(pipe: &Pipe, out: &mut File, mut room: Room) -> io::Result<Moved> {
        pipe.move_into(&mut Watched::new(out, &mut room))
    }

    /// What a reader took before is not moved again; the rest is moved whole, counted as
    /// progress, after what the file already holds.
    #[test]
    fn the_rest_of_a_pipe_is_moved_to_the_end_of_a_file() {
        let text: Vec<u8> = (0..3_000_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let (reader, mut writer) = std::io::pipe().unwrap();
        let stream = File::from(std::os::fd::OwnedFd::from(reader));
        let progress = Arc::new(Progress::default());
        let pipe = Pipe::of(&stream, Some(&progress)).expect("a pipe");
        let sent = text.clone();
        let writing = std::thread::spawn(move || writer.write_all(&sent));
        let mut head = vec![0u8; 1000];
        (&stream).read_exact(&mut head).unwrap();
        let mut out = tempfile::tempfile().unwrap();
        out.write_all(b"before\n").unwrap();
        let moved = move_watched(&pipe, &mut out, Room::default()).unwrap();
        writing.join().unwrap().unwrap();
        assert!(
            matches!(moved, Moved::All(n, None) if n == 3_000_000 - 1000),
            "{moved:?}"
        );
        assert_eq!(progress.get().1, 3_000_000 - 1000);
        assert_eq!(out.stream_position().unwrap(), 7 + 3_000_000 - 1000);
        let mut got = Vec::new();
        out.rewind().unwrap();
        out.read_to_end(&mut got).unwrap();
        assert_eq!(&got[..7], b"before\n");
        assert_eq!(&head[..], &text[..1000]);
        assert_eq!(&got[7..], &text[1000..]);
    }

    /// A non-blocking pipe found empty is waited on, not taken as ended: by a read and by a
    /// move, whatever the pauses of its writer.
    #[test]
    fn a_non_blocking_pipe_is_read_to_its_end() {
        use std::os::fd::AsRawFd;
        for moved in [false, true] {
            let (reader, mut writer) = std::io::pipe().unwrap();
            let stream = File::from(std::os::fd::OwnedFd::from(reader));
            // SAFETY: fcntl on an open descriptor, reading no memory of ours.
            unsafe { libc::fcntl(stream.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
            let writing = std::thread::spawn(move || {
                for piece in 0..4u8 {
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    writer.write_all(&vec![b'a' + piece; 100_000])?;
                }
                Ok::<_, std::io::Error>(())
            });
            let mut got = Vec::new();
            if moved {
                let pipe = Pipe::of(&stream, None).expect("a pipe");
                let mut out = tempfile::tempfile().unwrap();
                let moved = move_watched(&pipe, &mut out, Room::default()).unwrap();
                assert!(matches!(moved, Moved::All(400_000, None)), "{moved:?}");
                out.rewind().unwrap();
                out.read_to_end(&mut got).unwrap();
            } else {
                Stream(stream).read_to_end(&mut got).unwrap();
            }
            writing.join().unwrap().unwrap();
            // Pieces built on the heap: arrays of them by value overflowed a debug build's stack.
            let want: Vec<u8> = (0..4u8)
                .flat_map(|p| std::iter::repeat_n(b'a' + p, 100_000))
                .collect();
            assert!(got == want, "moved: {moved}, {} bytes", got.len());
        }
    }

    /// A move stops at the first check of the room left that finds too little, with
    /// the moved bytes counted up to it.
    #[test]
    fn a_move_stops_without_room() {
        let (reader, mut writer) = std::io::pipe().unwrap();
        let stream = File::from(std::os::fd::OwnedFd::from(reader));
        let progress = Arc::new(Progress::default());
        let pipe = Pipe::of(&stream, Some(&progress)).expect("a pipe");
        // The writer stops when the reader's end closes (the test's `stream` dropped).
        let writing = std::thread::spawn(move || writer.write_all(&[b'a'; 8 << 20]));
        let mut out = tempfile::tempfile().unwrap();
        let e = move_watched(&pipe, &mut out, Room::testing(1 << 20, u64::MAX)).unwrap_err();
        assert!(room::no_room(&e).is_some(), "{e}");
        let moved = progress.get().1;
        assert!((1 << 20..8 << 20).contains(&moved), "{moved}");
        assert_eq!(out.stream_position().unwrap(), moved);
        drop((pipe, stream));
        assert!(
            writing.join().unwrap().is_err(),
            "the writer sees the pipe closed"
        );
    }

    /// A regular file is no pipe: it is read as before.
    #[test]
    fn a_file_is_not_spliced() {
        let f = tempfile::tempfile().unwrap();
        assert!(Pipe::of(&f, None).is_none());
    }
}
