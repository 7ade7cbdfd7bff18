//! Read-only memory maps of data files, so large databases (nmap-services,
//! nmap-service-probes, nmap-os-db) are read without copying them into the
//! heap. Their pages show up in RSS, which `--mem-report` prints beside the heap.

use std::fs::File;
use std::io;
use std::path::Path;

/// A file mapped read-only; unmapped on drop.
#[derive(Debug)]
pub struct MappedFile {
    ptr: *mut libc::c_void,
    len: usize,
}

// SAFETY: the mapping is read-only and private; sharing &[u8] views of it is sound.
unsafe impl Send for MappedFile {}
// SAFETY: as above; no interior mutability.
unsafe impl Sync for MappedFile {}

impl MappedFile {
    /// Map `path`. Empty files are allowed (no mapping is made).
    pub fn open(path: &Path) -> io::Result<MappedFile> {
        let file = File::open(path)?;
        let len = usize::try_from(file.metadata()?.len())
            .map_err(|_| io::Error::other("file too large to map"))?;
        if len == 0 {
            return Ok(MappedFile {
                ptr: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a fresh private read-only mapping of a file we opened; the
        // kernel picks the address. Failure is checked below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                std::os::fd::AsRawFd::as_raw_fd(&file),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(MappedFile { ptr, len })
    }

    /// The file's bytes.
    pub fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `ptr` maps `len` readable bytes for as long as `self` lives.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
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

impl Drop for MappedFile {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: `ptr`/`len` are exactly the mapping made in `open`.
            unsafe {
                libc::munmap(self.ptr, self.len);
            }
        }
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
