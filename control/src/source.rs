//! Where the counters come from: the dataplane's stats segment, mapped read-only.
//!
//! The segment may not exist yet (dataplane starting), may be half-written (magic not set yet),
//! or may be replaced by a restarted dataplane (new file, new inode, new epoch). Every scrape
//! calls [`Source::refresh`], which costs one `stat` when nothing changed.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

use synwall_engine::stats::{SegmentReader, STATE_RUNNING, STATE_STOPPED};
use synwall_shm::Segment;

/// Whether the dataplane behind the segment is alive, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Health {
    Up,
    Down(String),
}

impl Health {
    pub fn is_up(&self) -> bool {
        *self == Health::Up
    }
}

/// Counter memory: the mapped file, or plain memory (tests).
pub enum Source {
    File(FileSource),
    #[cfg(test)]
    Memory(std::sync::Arc<Vec<AtomicU64>>),
}

impl Source {
    pub fn file(path: &Path) -> Source {
        Source::File(FileSource {
            path: path.to_path_buf(),
            mapped: None,
        })
    }

    /// Re-checks the mapping and returns the segment's words, if there is a segment.
    pub fn refresh(&mut self) -> Option<&[AtomicU64]> {
        match self {
            Source::File(f) => f.refresh(),
            #[cfg(test)]
            Source::Memory(m) => Some(m.as_slice()),
        }
    }
}

pub struct FileSource {
    path: PathBuf,
    mapped: Option<Mapped>,
}

struct Mapped {
    segment: Segment,
    inode: u64,
    /// Epoch seen at the last valid read; 0 while the header was not valid yet.
    epoch: u64,
}

impl FileSource {
    fn refresh(&mut self) -> Option<&[AtomicU64]> {
        let Some(inode) = Segment::inode(&self.path) else {
            self.mapped = None;
            return None;
        };
        let stale = match &self.mapped {
            None => true,
            Some(m) if m.inode != inode => true,
            Some(m) => match SegmentReader::open(m.segment.words()) {
                // A new epoch in the same file: map again, the layout may differ.
                Ok(r) => m.epoch != 0 && r.epoch() != m.epoch,
                Err(_) => false,
            },
        };
        if stale {
            self.mapped = Segment::open_readonly(&self.path)
                .ok()
                .map(|segment| Mapped {
                    segment,
                    inode,
                    epoch: 0,
                });
        }
        let m = self.mapped.as_mut()?;
        if let Ok(r) = SegmentReader::open(m.segment.words()) {
            m.epoch = r.epoch();
        }
        Some(m.segment.words())
    }
}

/// Is the dataplane that wrote this segment running?
pub fn health(words: Option<&[AtomicU64]>) -> Health {
    let Some(words) = words else {
        return Health::Down("no stats segment".into());
    };
    let reader = match SegmentReader::open(words) {
        Ok(r) => r,
        Err(e) => return Health::Down(e.to_string()),
    };
    match reader.state() {
        STATE_RUNNING => {}
        STATE_STOPPED => return Health::Down("dataplane stopped".into()),
        _ => return Health::Down("dataplane starting".into()),
    }
    let pid = reader.pid();
    if pid == 0 || !Path::new(&format!("/proc/{pid}")).exists() {
        return Health::Down(format!("dataplane pid {pid} is gone"));
    }
    Health::Up
}

#[cfg(test)]
mod tests {
    use super::*;
    use synwall_engine::stats::{segment_words, SegmentInfo, SegmentWriter};

    fn info(epoch: u64) -> SegmentInfo {
        SegmentInfo {
            epoch_ns: epoch,
            pid: std::process::id() as u64,
            session_capacity: 10,
            port_names: vec!["p0".into()],
            worker_lcores: vec![1],
            zone_names: vec!["z".into()],
        }
    }

    #[test]
    fn file_source_follows_restarts() {
        let path =
            std::env::temp_dir().join(format!("synwall-ctl-test-{}.stats", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let mut src = Source::file(&path);
        assert!(src.refresh().is_none());
        assert!(!health(src.refresh()).is_up());

        let seg = Segment::create(&path, segment_words(1)).unwrap();
        // Formatted but not running yet: mapped, but down.
        assert!(matches!(health(src.refresh()), Health::Down(_)));
        let w = SegmentWriter::format(seg.words(), &info(1)).unwrap();
        assert_eq!(
            health(src.refresh()),
            Health::Down("dataplane starting".into())
        );
        w.set_state(STATE_RUNNING);
        w.worker(0).add(0, 5);
        assert_eq!(health(src.refresh()), Health::Up);
        assert_eq!(
            SegmentReader::open(src.refresh().unwrap()).unwrap().sum(0),
            5
        );

        // Restart: a new file (new inode), new epoch, counters from 0.
        let seg2 = Segment::create(&path, segment_words(1)).unwrap();
        let w2 = SegmentWriter::format(seg2.words(), &info(2)).unwrap();
        w2.set_state(STATE_RUNNING);
        let r = SegmentReader::open(src.refresh().unwrap()).unwrap();
        assert_eq!((r.epoch(), r.sum(0)), (2, 0));
        w2.set_state(STATE_STOPPED);
        assert_eq!(
            health(src.refresh()),
            Health::Down("dataplane stopped".into())
        );
        drop((seg, seg2));
        std::fs::remove_file(&path).unwrap();
        assert!(src.refresh().is_none());
    }
}
