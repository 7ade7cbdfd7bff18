//! Output sinks: nmap's normal (stdout and `-oN`), grepable (`-oG`) and XML
//! (`-oX`) formats, our JSON Lines (`-oJ`), and the fan-out that feeds them.
//!
//! Every sink implements [`ResultSink`] over any [`Write`], writes each host
//! as soon as it arrives and flushes, and keeps no per-host state: memory
//! does not grow with the number of hosts, and an interrupted scan loses no
//! finished host. `end` is called also after Ctrl-C, so every file is
//! complete and well-formed.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use prtip_scanner::cancel::StopFlag;

use prtip_core::result::{HostResult, ResultSink, RunInfo, RunStats};

pub mod db;
pub mod grepable;
pub mod json;
pub mod normal;
pub mod os;
pub mod xml;

mod scripts;
mod text;
pub(crate) mod time;

#[cfg(test)]
mod testdata;

pub use grepable::GrepableSink;
pub use json::JsonSink;
pub use normal::{NormalFlavor, NormalSink};
pub use xml::XmlSink;

/// A sink that can be moved to the thread that drives the scan.
pub type BoxedSink = Box<dyn ResultSink + Send>;

fn not_begun() -> io::Error {
    io::Error::other("output sink used before begin()")
}

/// Feeds every result to several sinks.
///
/// A failing sink (disk full, closed pipe) does not starve the others: every
/// sink gets every call, and the first error is returned afterwards.
#[derive(Default)]
pub struct MultiSink {
    sinks: Vec<BoxedSink>,
}

impl std::fmt::Debug for MultiSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultiSink")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl MultiSink {
    pub fn new() -> Self {
        MultiSink { sinks: Vec::new() }
    }

    pub fn push(&mut self, sink: BoxedSink) {
        self.sinks.push(sink);
    }

    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }

    fn each(&mut self, mut f: impl FnMut(&mut BoxedSink) -> io::Result<()>) -> io::Result<()> {
        let mut first = None;
        for sink in &mut self.sinks {
            if let Err(e) = f(sink) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}

impl ResultSink for MultiSink {
    fn begin(&mut self, run: &RunInfo) -> io::Result<()> {
        self.each(|s| s.begin(run))
    }

    fn host(&mut self, host: &HostResult) -> io::Result<()> {
        self.each(|s| s.host(host))
    }

    fn end(&mut self, stats: &RunStats) -> io::Result<()> {
        self.each(|s| s.end(stats))
    }
}

/// Which outputs the user asked for. A path of `-` means standard output,
/// and, as in nmap, then replaces the interactive report on stdout.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutputSpec {
    /// The interactive normal report on stdout (on unless `-` is used).
    pub stdout: bool,
    /// `-oN`
    pub normal: Option<PathBuf>,
    /// `-oG`
    pub grepable: Option<PathBuf>,
    /// `-oX`
    pub xml: Option<PathBuf>,
    /// `-oJ`
    pub json: Option<PathBuf>,
    /// `-oA base`: base.nmap, base.gnmap, base.xml (nmap's names) and base.json.
    pub all: Option<PathBuf>,
}

/// `-oA` file names for `base`: normal, grepable, XML, JSON.
pub fn all_paths(base: &Path) -> [PathBuf; 4] {
    let with = |ext: &str| {
        // Appended, not set_extension(): nmap keeps "scan.v1" as "scan.v1.xml".
        let mut s = OsString::from(base.as_os_str());
        s.push(ext);
        PathBuf::from(s)
    };
    [with(".nmap"), with(".gnmap"), with(".xml"), with(".json")]
}

/// Creates (truncates) an output file; the error names the path so the
/// binary can print it as one line. A privileged prtip never follows a
/// symbolic link: in a directory others can write to, one could point the
/// output at a file only root may overwrite.
pub fn create_file(path: &Path) -> io::Result<BufWriter<File>> {
    let opened = if crate::sys::privileged() {
        crate::sys::create_nofollow(path)
    } else {
        File::create(path)
    };
    opened.map(BufWriter::new).map_err(|e| {
        let why = if crate::sys::is_symlink_refusal(&e) {
            "it is a symbolic link, which prtip does not follow when privileged (use - for standard output)".to_string()
        } else {
            e.to_string()
        };
        io::Error::new(
            e.kind(),
            format!("cannot open output file {}: {why}", path.display()),
        )
    })
}

fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// A file writer whose errors name the file, so "disk full" tells which output failed.
struct NamedWriter<W> {
    inner: W,
    path: PathBuf,
}

impl<W: Write> NamedWriter<W> {
    fn name_error(&self, e: io::Error) -> io::Error {
        io::Error::new(
            e.kind(),
            format!("cannot write {}: {e}", self.path.display()),
        )
    }
}

impl<W: Write> Write for NamedWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).map_err(|e| self.name_error(e))
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush().map_err(|e| self.name_error(e))
    }
}

/// Standard output as the sinks write it. When its reader goes away
/// (`prtip ... | head`), the scan is stopped and later writes are dropped,
/// so the other outputs are still completed and, as with nmap, nothing is
/// reported; the exit status is then 141, as shells report SIGPIPE.
#[derive(Debug, Clone)]
pub struct Stdout {
    closed: Arc<AtomicBool>,
    stop: StopFlag,
}

impl Stdout {
    /// Standard output of a scan that `stop` stops.
    pub fn new(stop: StopFlag) -> Self {
        Stdout {
            closed: Arc::default(),
            stop,
        }
    }

    /// Whether the reader has gone.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Turns a closed pipe into the end of the scan; other errors stay errors.
    fn check<T>(&self, written: io::Result<T>, nothing: T) -> io::Result<T> {
        match written {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.closed.store(true, Ordering::SeqCst);
                self.stop.stop();
                Ok(nothing)
            }
            r => r,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.is_closed() {
            return Ok(buf.len());
        }
        self.check(io::stdout().write(buf), buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        self.check(io::stdout().flush(), ())
    }
}

fn writer(path: &Path, stdout: &Stdout) -> io::Result<Box<dyn Write + Send>> {
    if is_stdout(path) {
        Ok(Box::new(stdout.clone()))
    } else {
        Ok(Box::new(NamedWriter {
            inner: create_file(path)?,
            path: path.to_path_buf(),
        }))
    }
}

/// Opens every requested output. Files are created before the scan starts,
/// so a bad path fails fast instead of after a long scan.
pub fn open_outputs(spec: &OutputSpec, stdout: &Stdout) -> io::Result<MultiSink> {
    let mut normal: Vec<&Path> = Vec::new();
    let mut grepable: Vec<&Path> = Vec::new();
    let mut xml: Vec<&Path> = Vec::new();
    let mut json: Vec<&Path> = Vec::new();
    normal.extend(spec.normal.as_deref());
    grepable.extend(spec.grepable.as_deref());
    xml.extend(spec.xml.as_deref());
    json.extend(spec.json.as_deref());
    let all = spec.all.as_deref().map(all_paths);
    if let Some([n, g, x, j]) = &all {
        normal.push(n);
        grepable.push(g);
        xml.push(x);
        json.push(j);
    }
    let any_stdout = normal
        .iter()
        .chain(&grepable)
        .chain(&xml)
        .chain(&json)
        .any(|p| is_stdout(p));

    let mut sinks = MultiSink::new();
    if spec.stdout && !any_stdout {
        sinks.push(Box::new(NormalSink::new(
            stdout.clone(),
            NormalFlavor::Stdout,
        )));
    }
    for p in normal {
        sinks.push(Box::new(NormalSink::new(
            writer(p, stdout)?,
            NormalFlavor::File,
        )));
    }
    for p in grepable {
        sinks.push(Box::new(GrepableSink::new(writer(p, stdout)?)));
    }
    for p in xml {
        sinks.push(Box::new(XmlSink::new(writer(p, stdout)?)));
    }
    for p in json {
        sinks.push(Box::new(JsonSink::new(writer(p, stdout)?)));
    }
    Ok(sinks)
}

#[cfg(test)]
mod tests {
    use super::testdata::*;
    use super::*;

    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn all_paths_append_nmap_extensions() {
        let [n, g, x, j] = all_paths(Path::new("out/scan.v1"));
        assert_eq!(n, Path::new("out/scan.v1.nmap"));
        assert_eq!(g, Path::new("out/scan.v1.gnmap"));
        assert_eq!(x, Path::new("out/scan.v1.xml"));
        assert_eq!(j, Path::new("out/scan.v1.json"));
    }

    #[test]
    fn create_error_names_the_path() {
        let err = create_file(Path::new("/nonexistent-dir/x/scan.xml")).expect_err("must fail");
        assert!(
            err.to_string().contains("/nonexistent-dir/x/scan.xml"),
            "{err}"
        );
        let spec = OutputSpec {
            all: Some(PathBuf::from("/nonexistent-dir/base")),
            ..OutputSpec::default()
        };
        let err = open_outputs(&spec, &Stdout::new(StopFlag::new())).expect_err("must fail");
        assert!(
            err.to_string().contains("/nonexistent-dir/base.nmap"),
            "{err}"
        );
    }

    #[test]
    fn open_all_writes_four_complete_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = dir.path().join("scan");
        let spec = OutputSpec {
            all: Some(base.clone()),
            ..OutputSpec::default()
        };
        let mut sinks = open_outputs(&spec, &Stdout::new(StopFlag::new())).expect("open");
        assert_eq!(sinks.len(), 4);
        sinks.begin(&run_info()).expect("begin");
        sinks.host(&two_open_host()).expect("host");
        // Each host must reach the files before the run ends (interrupt safety).
        let [n, g, x, j] = all_paths(&base);
        let read = |p: &Path| std::fs::read_to_string(p).expect("read");
        assert!(read(&n).contains("18080/tcp open  http"));
        assert!(read(&g).contains("Ports: 18022/open/tcp"));
        assert!(read(&x).contains("portid=\"18080\""));
        assert!(read(&j).contains("\"type\":\"host\""));
        sinks.end(&stats(1, 0)).expect("end");
        drop(sinks);
        assert!(read(&n).contains("# prtip done at "));
        assert!(read(&g).contains("# prtip done at "));
        assert!(read(&x).ends_with("</nmaprun>\n"));
        assert!(read(&j)
            .lines()
            .last()
            .is_some_and(|l| l.contains("\"type\":\"stats\"")));
    }

    #[test]
    fn one_broken_sink_does_not_starve_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ok.gnmap");
        let mut sinks = MultiSink::new();
        sinks.push(Box::new(XmlSink::new(Broken)));
        sinks.push(Box::new(GrepableSink::new(
            create_file(&path).expect("create"),
        )));
        assert!(sinks.begin(&run_info()).is_err());
        assert!(sinks.host(&two_open_host()).is_err());
        assert!(sinks.end(&stats(1, 0)).is_err());
        drop(sinks);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("Ports: 18022/open/tcp"));
        assert!(text.contains("# prtip done at "));
    }
}
