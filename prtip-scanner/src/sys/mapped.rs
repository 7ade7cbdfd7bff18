//! Read-only memory maps of data files, so large databases (nmap-services,
//! nmap-service-probes, nmap-os-db) are read without copying them into the
//! heap. Their pages show up in RSS, which `--mem-report` prints beside the heap.

use memmap2::{Mmap, MmapOptions};
use std::fs::File;
use std::io;
use std::path::Path;

/// A file mapped read-only; unmapped on drop.
#[derive(Debug)]
pub struct MappedFile {
    /// `None` for an empty file: there is nothing to map.
    map: Option<Mmap>,
}

impl MappedFile {
    /// Map `path`. Empty files are allowed (no mapping is made).
    pub fn open(path: &Path) -> io::Result<MappedFile> {
        let file = File::open(path)?;
        if file.metadata()?.len() == 0 {
            return Ok(MappedFile { map: None });
        }
        // SAFETY: a private read-only mapping of a file we opened. Were the
        // file truncated or rewritten by someone else during the scan, reads
        // could fault or change under us; the databases are only ever
        // replaced by installers, which write a new file and rename it.
        let map = unsafe { MmapOptions::new().map_copy_read_only(&file)? };
        Ok(MappedFile { map: Some(map) })
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
    fn binary_content_is_an_error_not_a_panic() {
        let mut f = tempfile::NamedTempFile::new().expect("temp file");
        f.write_all(b"ok\xff\xfe").expect("write");
        let m = MappedFile::open(f.path()).expect("map");
        let e = m.text().expect_err("invalid utf8");
        assert!(e.to_string().contains("byte 2"), "{e}");
    }
}
