//! Data files (nmap-services, nmap-service-probes, nmap-os-db) held in a
//! private read-only memory map, outside the heap. Their pages show up in
//! RSS, which `--mem-report` prints beside the heap.
//!
//! The map is anonymous and the file is read into it once. A map of the
//! file itself would be cheaper by one copy, but a file truncated while
//! mapped raises SIGBUS on the next read of a lost page, and a file
//! rewritten in place changes under text that was validated as UTF-8 only
//! once. A copy can do neither, and reading a few MB from the page cache
//! takes about a millisecond.

use memmap2::{Mmap, MmapOptions};
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Largest data file read: nmap's biggest (nmap-os-db) is about 5 MB.
const MAX_LEN: u64 = 256 << 20;

/// A file's bytes in a private read-only map; unmapped on drop.
#[derive(Debug)]
pub struct MappedFile {
    /// `None` for an empty file: there is nothing to map.
    map: Option<Mmap>,
}

impl MappedFile {
    /// Reads `path` into a private map. Empty files are allowed (no
    /// mapping is made); a file that shrinks while it is read is an error.
    pub fn open(path: &Path) -> io::Result<MappedFile> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(MappedFile { map: None });
        }
        if len > MAX_LEN {
            return Err(io::Error::other(format!(
                "file too large ({len} bytes; data files are at most {MAX_LEN})"
            )));
        }
        let len = usize::try_from(len).map_err(|_| io::Error::other("file too large"))?;
        let mut map = MmapOptions::new().len(len).map_anon()?;
        file.read_exact(&mut map)?;
        Ok(MappedFile {
            map: Some(map.make_read_only()?),
        })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        self.map.as_deref().unwrap_or(&[])
    }

    /// The file as text, or an error naming the first invalid byte offset.
    pub fn text(&self) -> io::Result<&str> {
        std::str::from_utf8(self.bytes()).map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("not UTF-8 text (byte {})", e.valid_up_to()),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn maps_file_contents() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(b"http 80/tcp 0.48\n").expect("write");
        let m = MappedFile::open(f.path()).expect("map");
        assert_eq!(m.text().expect("utf8"), "http 80/tcp 0.48\n");
    }

    #[test]
    fn empty_and_missing_files() {
        let f = tempfile::NamedTempFile::new().expect("temp file");
        assert_eq!(MappedFile::open(f.path()).expect("map").bytes(), b"");
        assert!(MappedFile::open(Path::new("/nonexistent/prtip")).is_err());
    }

    #[test]
    fn truncating_the_file_later_changes_nothing() {
        // A map of the file itself would raise SIGBUS on the lost pages.
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        let text = "x".repeat(64 << 10);
        f.write_all(text.as_bytes()).expect("write");
        let m = MappedFile::open(f.path()).expect("map");
        f.as_file().set_len(0).expect("truncate");
        std::fs::write(f.path(), b"\xff").expect("rewrite");
        assert_eq!(m.text().expect("still the text read"), text);
    }

    #[test]
    fn binary_content_is_an_error_not_a_panic() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(b"ok\xff\xfe").expect("write");
        let m = MappedFile::open(f.path()).expect("map");
        let e = m.text().expect_err("invalid utf8");
        assert!(e.to_string().contains("byte 2"), "{e}");
    }
}
