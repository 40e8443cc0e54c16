//! Room kept free on the disk that holds the temporary files.
//!
//! A stream has no size to look at beforehand: `why409 -` fed by `kubectl logs -f`, a
//! device named by mistake (`why409 /dev/zero` wrote 400 MB/s to /tmp here until stopped),
//! or a 40 GB `.gz` decoded on a host whose /tmp is a small disk or a tmpfs (which is RAM)
//! would have its text written until the disk is full. A full disk on the host of an
//! incident makes an incident of its own: the services and their log writers that share it
//! fail. So every `CHECK_EVERY` bytes a temporary file grows, the room left on its file
//! system is asked (`fstatvfs`, about a microsecond), and the copy stops with an error once
//! less than `keep_free` of it would be left: 5 % of the file system, at most 1 GiB
//! (journald keeps 15 %, at most 4 GiB, free by the same reasoning). Nearing that, the room
//! is asked before what is left above it can be written. A temporary file's first
//! `CHECK_EVERY` bytes are not checked: small texts are never stopped, whatever the disk
//! holds (a disk with less than that left can still be filled, and says so: ENOSPC).

use std::fs::File;
use std::io::{self, Write};

/// The room left is asked each time a temporary file has grown by this much.
const CHECK_EVERY: u64 = 64 << 20;

/// At most this much of a file system is kept free (`keep_free`).
const KEEP_FREE_MAX: u64 = 1 << 30;

/// The bytes to keep free on a file system of `size` bytes: 5 %, at most `KEEP_FREE_MAX`.
fn keep_free(size: u64) -> u64 {
    (size / 20).min(KEEP_FREE_MAX)
}

/// A temporary file's watch on the room left on its disk.
#[derive(Clone, Copy, Debug)]
pub struct Room {
    /// Bytes written since the room was last asked.
    unchecked: u64,
    /// The room is asked again once this many have been written: `CHECK_EVERY`, or what
    /// was left above the room to keep if that is less, so that nearing it is seen.
    next: u64,
    /// The bytes to keep free, if not those of the file system's size (`keep_free`).
    keep: Option<u64>,
    /// `CHECK_EVERY` (tests ask more often).
    every: u64,
}

impl Default for Room {
    fn default() -> Room {
        Room {
            unchecked: 0,
            next: CHECK_EVERY,
            keep: None,
            every: CHECK_EVERY,
        }
    }
}

/// The error of a copy stopped for want of room: so many bytes are left free on the
/// disk, and so many are to be kept free.
#[derive(Debug)]
pub struct NoRoom {
    pub free: u64,
    pub keep: u64,
}

impl std::fmt::Display for NoRoom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} left free on that disk, where why409 keeps {} free",
            size(self.free),
            size(self.keep)
        )
    }
}

impl std::error::Error for NoRoom {}

/// Bytes in words: bytes below a MiB, MiB below a GiB, GiB with one decimal from there.
pub fn size(n: u64) -> String {
    if n < 1 << 20 {
        format!("{n} bytes")
    } else if n < 1 << 30 {
        format!("{} MiB", n >> 20)
    } else {
        format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64)
    }
}

impl Room {
    /// A room that is asked every `every` bytes and keeps `keep` bytes free (tests).
    #[cfg(test)]
    pub fn testing(every: u64, keep: u64) -> Room {
        Room {
            unchecked: 0,
            next: every,
            keep: Some(keep),
            every,
        }
    }

    /// Notes `n` bytes written to `file`; asks the room left when `CHECK_EVERY` have been
    /// written since it was last asked (fewer near the room to keep). The `NoRoom` error
    /// when less than that is left.
    fn wrote(&mut self, file: &File, n: u64) -> io::Result<()> {
        self.will_write(file, n, 0)
    }

    /// Notes `n` bytes about to be written to `file` at once (a copy by the kernel): the
    /// room is asked first if they take the count past the next check, and must hold them.
    fn before_writing(&mut self, file: &File, n: u64) -> io::Result<()> {
        self.will_write(file, n, n)
    }

    fn will_write(&mut self, file: &File, n: u64, ahead: u64) -> io::Result<()> {
        self.unchecked += n;
        if self.unchecked < self.next {
            return Ok(());
        }
        self.unchecked = 0;
        // A file system that cannot say (`fstatvfs` refused) is written to as before.
        match room_on(file) {
            Some((free, size)) => self.asked(free, size, ahead),
            None => Ok(()),
        }
    }

    /// What the room is told: `free` bytes free of a file system's `size`, `ahead` of them
    /// about to be written.
    fn asked(&mut self, free: u64, size: u64, ahead: u64) -> io::Result<()> {
        let keep = self.keep.unwrap_or_else(|| keep_free(size));
        let Some(left) = free.checked_sub(keep.saturating_add(ahead)) else {
            return Err(io::Error::other(NoRoom { free, keep }));
        };
        // Asked again before what is left is written (each write, once nothing is).
        self.next = left.min(self.every);
        Ok(())
    }
}

/// The bytes free (to an unprivileged user) on the file system holding `file`, and its
/// size; `None` where that cannot be asked.
#[cfg(unix)]
fn room_on(file: &File) -> Option<(u64, u64)> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `st` is written whole by a successful call, read only then; the descriptor
    // is open (borrowed) for the call.
    let st = unsafe {
        if libc::fstatvfs(file.as_raw_fd(), st.as_mut_ptr()) != 0 {
            return None;
        }
        st.assume_init()
    };
    let unit = st.f_frsize as u64;
    Some((
        (st.f_bavail as u64).saturating_mul(unit),
        (st.f_blocks as u64).saturating_mul(unit),
    ))
}

#[cfg(not(unix))]
fn room_on(_: &File) -> Option<(u64, u64)> {
    None
}

/// A temporary file written to with its `Room` watched: through `Write`, or by the kernel
/// into `file` (a copy or a splice) with the bytes told before or after.
pub struct Watched<'a> {
    pub file: &'a mut File,
    room: &'a mut Room,
}

impl<'a> Watched<'a> {
    pub fn new(file: &'a mut File, room: &'a mut Room) -> Watched<'a> {
        Watched { file, room }
    }

    /// `n` bytes written into `file` by the kernel (`Room::wrote`).
    pub fn wrote(&mut self, n: u64) -> io::Result<()> {
        self.room.wrote(self.file, n)
    }

    /// `n` bytes about to be written into `file` by the kernel (`Room::before_writing`).
    pub fn before_writing(&mut self, n: u64) -> io::Result<()> {
        self.room.before_writing(self.file, n)
    }
}

impl Write for Watched<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.room.wrote(self.file, n as u64)?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Whether `e` is a copy stopped for want of room (`NoRoom`), and how it was stopped.
pub fn no_room(e: &io::Error) -> Option<&NoRoom> {
    e.get_ref()?.downcast_ref::<NoRoom>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_percent_is_kept_free_up_to_a_gib() {
        assert_eq!(keep_free(2 << 30), (2 << 30) / 20);
        assert_eq!(keep_free(20 << 30), 1 << 30);
        assert_eq!(keep_free(250 << 30), 1 << 30);
        assert_eq!(keep_free(0), 0);
    }

    /// Nearing the room to keep, the room is asked before what is left above it can be
    /// written; at it, at each write; past it, the copy stops.
    #[test]
    fn the_room_is_asked_more_often_near_the_end() {
        let mut room = Room::testing(64, 100);
        room.asked(1_000, 10_000, 0).unwrap();
        assert_eq!(room.next, 64);
        room.asked(130, 10_000, 0).unwrap();
        assert_eq!(room.next, 30);
        room.asked(150, 10_000, 40).unwrap();
        assert_eq!(room.next, 10);
        room.asked(100, 10_000, 0).unwrap();
        assert_eq!(room.next, 0);
        let e = room.asked(99, 10_000, 0).unwrap_err();
        let stop = no_room(&e).unwrap();
        assert_eq!((stop.free, stop.keep), (99, 100));
        assert!(room.asked(150, 10_000, 51).is_err());
        // Kept from the file system's size when not given.
        let mut room = Room::default();
        room.asked(600 << 20, 10 << 30, 0).unwrap();
        assert_eq!(room.next, CHECK_EVERY);
        room.asked(560 << 20, 10 << 30, 0).unwrap();
        assert_eq!(room.next, 48 << 20);
        assert!(room.asked(500 << 20, 10 << 30, 0).is_err());
    }

    #[test]
    fn sizes_read_as_mib_then_gib() {
        assert_eq!(size(0), "0 bytes");
        assert_eq!(size((1 << 20) - 1), "1048575 bytes");
        assert_eq!(size(700 << 20), "700 MiB");
        assert_eq!(size(1 << 30), "1.0 GiB");
        assert_eq!(size(57 * (1 << 30) + (1 << 29)), "57.5 GiB");
    }

    /// Writes under the check's step are never stopped; the first check on a disk with
    /// less than the room to keep stops the copy, naming both figures.
    #[test]
    fn a_copy_stops_at_the_first_check_without_room() {
        let mut file = tempfile::tempfile().unwrap();
        let mut room = Room::testing(1 << 20, u64::MAX);
        let mut out = Watched {
            file: &mut file,
            room: &mut room,
        };
        out.write_all(&[b'x'; (1 << 20) - 1]).unwrap();
        let e = out.write_all(b"xy").unwrap_err();
        let stop = no_room(&e).expect("stopped for want of room");
        assert_eq!(stop.keep, u64::MAX);
        assert!(e.to_string().ends_with(" free"), "{e}");
        // Counted anew after a check.
        let mut room = Room::testing(1 << 20, u64::MAX);
        room.wrote(&file, 1 << 19).unwrap();
        assert!(room.wrote(&file, 1 << 19).is_err());
        assert!(room.wrote(&file, 1 << 19).is_ok());
    }

    /// A disk with room goes on being written; a copy by the kernel is checked before,
    /// for its size.
    #[cfg(unix)]
    #[test]
    fn a_copy_goes_on_while_there_is_room() {
        let mut file = tempfile::tempfile().unwrap();
        let (free, _) = room_on(&file).expect("a Unix file system answers");
        let mut room = Room::testing(1 << 10, 0);
        let mut out = Watched {
            file: &mut file,
            room: &mut room,
        };
        out.write_all(&[b'x'; 1 << 16]).unwrap();
        assert!(room.before_writing(&file, free / 2).is_ok());
        let e = room.before_writing(&file, free + (1 << 30)).unwrap_err();
        assert!(no_room(&e).is_some());
        assert!(no_room(&io::Error::other("other")).is_none());
    }
}
