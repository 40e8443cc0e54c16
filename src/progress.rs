//! Progress: how far an analysis has got, counted by the analysis and read by whoever draws
//! it (the binary's progress bar on a terminal). The analysis only counts bytes; it knows
//! nothing of terminals.

use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// What an analysis is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Opening the inputs: mapping files (at once), decoding compressed ones (the bytes
    /// counted are the compressed ones read).
    Opening,
    /// Decoding the compressed files inside tar and zip archives (the bytes counted are
    /// the compressed ones read; the total grows as archives are listed).
    Unpacking,
    /// The conflict scan over every byte to read.
    Scanning,
    /// The pass that parses and counts every line.
    Reading,
    /// Timelines, detectors and the report: no bytes left to read.
    Finishing,
}

impl Stage {
    const ALL: [Stage; 5] = [
        Stage::Opening,
        Stage::Unpacking,
        Stage::Scanning,
        Stage::Reading,
        Stage::Finishing,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Stage::Opening => "opening",
            Stage::Unpacking => "decoding files in archives",
            Stage::Scanning => "scanning for conflicts",
            Stage::Reading => "reading",
            Stage::Finishing => "finding causes",
        }
    }
}

/// The stage and, in it, the bytes done of the bytes to do. Shared between the analysis's
/// threads and a reader; every update is one relaxed store or add.
#[derive(Debug, Default)]
pub struct Progress {
    stage: AtomicU8,
    done: AtomicU64,
    total: AtomicU64,
}

impl Progress {
    /// Starts `stage` with `total` bytes to do.
    pub fn start(&self, stage: Stage, total: u64) {
        self.done.store(0, Ordering::Relaxed);
        self.total.store(total, Ordering::Relaxed);
        self.stage.store(stage as u8, Ordering::Relaxed);
    }

    /// Adds `bytes` to do in the stage.
    pub fn grow(&self, bytes: u64) {
        self.total.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Notes `bytes` more done.
    pub fn add(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
    }

    /// The stage, the bytes done and the bytes to do in it (done is never past a total; a
    /// total of 0 is not known yet, as while a stream is read).
    pub fn get(&self) -> (Stage, u64, u64) {
        let stage =
            Stage::ALL[(self.stage.load(Ordering::Relaxed) as usize).min(Stage::ALL.len() - 1)];
        let total = self.total.load(Ordering::Relaxed);
        let done = self.done.load(Ordering::Relaxed);
        (stage, if total > 0 { done.min(total) } else { done }, total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_count_their_own_bytes() {
        let p = Progress::default();
        assert_eq!(p.get(), (Stage::Opening, 0, 0));
        // A stream's bytes, their total not known.
        p.add(70);
        assert_eq!(p.get(), (Stage::Opening, 70, 0));
        // A stage whose total grows as it goes.
        p.start(Stage::Unpacking, 0);
        p.grow(50);
        p.add(20);
        p.grow(50);
        assert_eq!(p.get(), (Stage::Unpacking, 20, 100));
        p.start(Stage::Scanning, 100);
        p.add(30);
        p.add(30);
        assert_eq!(p.get(), (Stage::Scanning, 60, 100));
        p.start(Stage::Reading, 100);
        assert_eq!(p.get(), (Stage::Reading, 0, 100));
        // Never past the total, whatever the adds.
        p.add(500);
        assert_eq!(p.get(), (Stage::Reading, 100, 100));
        p.start(Stage::Finishing, 0);
        assert_eq!(p.get().0, Stage::Finishing);
    }
}
