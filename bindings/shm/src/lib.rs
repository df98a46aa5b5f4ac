//! The stats segment's memory mapping: the one place outside the DPDK edge that needs `unsafe`
//! (mmap). The dataplane creates and maps the file read-write; the control process maps it
//! read-only. Both see it as a slice of `AtomicU64`, the layout being `synwall_engine::stats`'s.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;

/// A mapped segment of `len` u64 words.
pub struct Segment {
    ptr: *mut AtomicU64,
    words: usize,
    path: PathBuf,
    writable: bool,
    _file: File,
}

// SAFETY: the mapping is only ever accessed through `&[AtomicU64]`, which is Sync; the pointer is
// valid until Drop unmaps it.
unsafe impl Send for Segment {}
// SAFETY: as above.
unsafe impl Sync for Segment {}

impl Segment {
    /// Creates (or truncates) the file at `path` with `words` zeroed u64s, mode 0644 (readers need
    /// no privilege to watch counters), and maps it read-write.
    pub fn create(path: &Path, words: usize) -> io::Result<Segment> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // A fresh inode each start: a reader still mapping the old file keeps its old view and
        // notices the new epoch by re-opening, never a layout changing under its feet.
        let _ = std::fs::remove_file(path);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(path)?;
        file.set_len((words * 8) as u64)?;
        Self::map(file, path, words, true)
    }

    /// Maps an existing segment read-only.
    pub fn open_readonly(path: &Path) -> io::Result<Segment> {
        let file = File::open(path)?;
        let len = file.metadata()?.len() as usize;
        if len < 8 || !len.is_multiple_of(8) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "stats segment has a bad size",
            ));
        }
        Self::map(file, path, len / 8, false)
    }

    fn map(file: File, path: &Path, words: usize, writable: bool) -> io::Result<Segment> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: mapping a regular file we opened, of the size we checked; MAP_SHARED so the other
        // process sees the stores. The result is checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                words * 8,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Segment {
            ptr: ptr as *mut AtomicU64,
            words,
            path: path.to_path_buf(),
            writable,
            _file: file,
        })
    }

    /// The segment as words. Readers of a read-only mapping must only load.
    pub fn words(&self) -> &[AtomicU64] {
        // SAFETY: ptr maps `words` u64s, page-aligned (so 8-aligned), valid until Drop; AtomicU64
        // has the layout of u64 and all access goes through atomics, so concurrent writers in
        // another process are not a data race.
        unsafe { std::slice::from_raw_parts(self.ptr, self.words) }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The file's inode, which changes when the dataplane recreates the segment.
    pub fn inode(path: &Path) -> Option<u64> {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| m.ino())
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `map` mapped; no reference from `words()` outlives self.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.words * 8) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::Ordering::Relaxed;

    #[test]
    fn writer_and_reader_share_words() {
        let path = std::env::temp_dir().join(format!("synwall-shm-test-{}", std::process::id()));
        let w = Segment::create(&path, 16).unwrap();
        w.words()[3].store(42, Relaxed);
        let r = Segment::open_readonly(&path).unwrap();
        assert_eq!(r.words().len(), 16);
        assert_eq!(r.words()[3].load(Relaxed), 42);
        w.words()[3].store(43, Relaxed);
        assert_eq!(r.words()[3].load(Relaxed), 43);
        assert!(!r.is_writable());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn refuses_a_bad_file() {
        let path = std::env::temp_dir().join(format!("synwall-shm-bad-{}", std::process::id()));
        std::fs::write(&path, b"abc").unwrap();
        assert!(Segment::open_readonly(&path).is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
