//! A real disk: read and hash every file of a directory tree, each job one file.

use std::ffi::OsString;
use std::fs::{self, File};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{sum_batch, Fnv1a};
use crate::contender::Contender;
use crate::workload::{Answer, Setup, Size, Workload, WorkloadId};

/// Files larger than this are left out of the tree: a toolchain's few huge binaries would
/// otherwise be most of the bytes of any pass.
pub const MAX_FILE: u64 = 1024 * 1024;

/// A file the workload reads: its path and the length it had when the tree was walked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Where it is.
    pub path: PathBuf,
    /// Its length in bytes.
    pub len: u64,
}

/// A real disk: every job opens one file of a directory tree, reads it to the end and hashes
/// it with FNV-1a; a run hashes every file once. The tree is, by default, the Rust toolchain's
/// installation (`rustc --print sysroot`: tens of thousands of files, most of a few KiB, the
/// kind of tree a build tool or an indexer reads); `--files-root DIR` picks another.
///
/// Preparing walks the tree once (std::fs, symbolic links skipped, files over [`MAX_FILE`] left
/// out), keeps the first files in path order up to the size's limit (100 at `tiny`, 2,500 at
/// `small`, 10,000 at `full`), and reads and hashes each of them once on the calling thread:
/// that first pass is the *cold* one, timed and reported on its own, and it yields the
/// expected checksum, the FNV-1a digest of every file's digest in path order (plus the number
/// of files, so a file hashed twice shows too). The jobs store each file's digest at its
/// index, so the order in which they finish does not matter.
///
/// The cold pass is cold only if the OS page cache did not already hold the files (nothing
/// here drops caches); the timed runs of every contender that follow are warm, reading from
/// memory, and so measure syscalls and hashing spread over the pool more than the disk. The
/// walk and the cold pass are made once per process and tree: a sweep prepares the workload
/// again for each worker count and reuses them.
#[derive(Debug)]
pub struct Files {
    tree: Arc<Tree>,
    workers: usize,
}

/// A walked tree and what its cold pass measured.
#[derive(Debug)]
struct Tree {
    root: PathBuf,
    /// `true` when the root is the toolchain's, found through `rustc`.
    toolchain: bool,
    /// Every file that will be read, in path order.
    files: Arc<[FileEntry]>,
    bytes: u64,
    /// `true` when the size's limit left files out.
    capped: bool,
    /// The checksum of a correct run.
    expected: u64,
    /// Seconds the cold pass took.
    cold_secs: f64,
}

/// The trees walked so far in this process, by root and limit: a second preparation of the
/// same tree reuses the walk, the digest and the cold pass's time.
static WALKED: Mutex<Vec<(PathBuf, usize, Arc<Tree>)>> = Mutex::new(Vec::new());

/// The tree `files` reads for `setup`: `--files-root` if given, else the Rust toolchain's
/// installation, from `$RUSTC --print sysroot` (`rustc` from the `PATH` if `RUSTC` is not set).
/// Fails with a message saying what to do when `rustc` cannot tell, or the directory cannot be
/// read.
pub fn files_root(setup: &Setup) -> Result<PathBuf, String> {
    let root = match &setup.files_root {
        Some(root) => root.clone(),
        None => toolchain_root()?,
    };
    let meta = fs::metadata(&root)
        .map_err(|e| format!("files: cannot read the directory {}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!(
            "files: {} is not a directory; pass --files-root with a directory to read",
            root.display()
        ));
    }
    fs::read_dir(&root)
        .map_err(|e| format!("files: cannot list the directory {}: {e}", root.display()))?;
    Ok(root)
}

fn toolchain_root() -> Result<PathBuf, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let shown = rustc.to_string_lossy().into_owned();
    let fail = |why: String| {
        format!(
            "files: `{shown} --print sysroot` could not find the Rust toolchain to read \
             ({why}); pass --files-root with a directory to read instead"
        )
    };
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(String::from_utf8_lossy(&out.stderr).trim().to_owned()));
    }
    let text = String::from_utf8(out.stdout).map_err(|_| fail("its answer is not UTF-8".into()))?;
    Ok(PathBuf::from(text.trim()))
}

/// The regular files under `root`, in path order (the order of [`Path`]'s `Ord`: component by
/// component), at most `limit` of them, each at most `max_len` bytes. Symbolic links are
/// skipped, and so are the directories below `root` that cannot be listed; `root` itself must
/// be a directory that can be.
pub fn walk(root: &Path, limit: usize, max_len: u64) -> io::Result<Vec<FileEntry>> {
    let mut out = Vec::new();
    visit(root, limit, max_len, &mut out)?;
    Ok(out)
}

/// Adds the files under `dir` to `out`, depth first with each directory's entries in name
/// order, which is path order.
fn visit(dir: &Path, limit: usize, max_len: u64, out: &mut Vec<FileEntry>) -> io::Result<()> {
    let mut entries: Vec<fs::DirEntry> = fs::read_dir(dir)?.filter_map(Result::ok).collect();
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        if out.len() >= limit {
            return Ok(());
        }
        // `DirEntry::file_type` does not follow symbolic links.
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            // A directory that cannot be listed is skipped, not fatal.
            let _ = visit(&entry.path(), limit, max_len, out);
        } else if kind.is_file() {
            if let Ok(meta) = entry.metadata() {
                if meta.len() <= max_len {
                    out.push(FileEntry {
                        path: entry.path(),
                        len: meta.len(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Reads `path` to the end and returns its FNV-1a digest and length.
fn hash_file(path: &Path) -> io::Result<(u64, u64)> {
    let mut file = File::open(path)?;
    let mut buf = [0u8; 16 * 1024];
    let mut digest = Fnv1a::new();
    let mut len = 0u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Ok((digest.finish(), len)),
            Ok(n) => {
                digest.write(&buf[..n]);
                len += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The checksum of a run: the digest of the file digests in path order, plus their count.
fn combine(digests: impl IntoIterator<Item = u64>) -> u64 {
    let mut all = Fnv1a::new();
    let mut count = 0u64;
    for d in digests {
        all.write(&d.to_le_bytes());
        count += 1;
    }
    all.finish().wrapping_add(count)
}

impl Tree {
    /// Walks `root` and makes the cold pass; files that cannot be read are left out.
    fn load(root: PathBuf, toolchain: bool, limit: usize) -> Result<Tree, String> {
        let walked = walk(&root, limit.saturating_add(1), MAX_FILE)
            .map_err(|e| format!("files: cannot list the directory {}: {e}", root.display()))?;
        let capped = walked.len() > limit;
        let started = Instant::now();
        let mut files = Vec::with_capacity(limit.min(walked.len()));
        let mut digests = Vec::with_capacity(files.capacity());
        for entry in walked.into_iter().take(limit) {
            if let Ok((digest, len)) = hash_file(&entry.path) {
                files.push(FileEntry {
                    path: entry.path,
                    len,
                });
                digests.push(digest);
            }
        }
        let cold_secs = started.elapsed().as_secs_f64();
        if files.is_empty() {
            return Err(format!(
                "files: no readable regular file (of at most {} KiB) under {}; pass \
                 --files-root with a directory that has some",
                MAX_FILE / 1024,
                root.display()
            ));
        }
        Ok(Tree {
            root,
            toolchain,
            bytes: files.iter().map(|f| f.len).sum(),
            files: files.into(),
            capped,
            expected: combine(digests),
            cold_secs,
        })
    }

    /// The tree at `root` for `limit`, walked and read once per process.
    fn get(root: PathBuf, toolchain: bool, limit: usize) -> Result<Arc<Tree>, String> {
        let mut walked = WALKED.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, _, tree)) = walked.iter().find(|(r, l, _)| *r == root && *l == limit) {
            return Ok(tree.clone());
        }
        let tree = Arc::new(Tree::load(root.clone(), toolchain, limit)?);
        walked.push((root, limit, tree.clone()));
        Ok(tree)
    }
}

impl Workload for Files {
    const ID: WorkloadId = WorkloadId::Files;

    fn prepare(size: Size, workers: usize) -> Self {
        Self::prepare_with(size, workers, &Setup::default()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn prepare_with(size: Size, workers: usize, setup: &Setup) -> Result<Self, String> {
        let root = files_root(setup)?;
        let limit = size.count(10_000, 50);
        Ok(Files {
            tree: Tree::get(root, setup.files_root.is_none(), limit)?,
            workers: workers.max(1),
        })
    }

    fn run<C: Contender>(&self, c: &C) -> u64 {
        let b = c.batch().expect("admitted contenders run batches");
        let files = self.tree.files.clone();
        let n = files.len();
        // One slot per file, so the digests can be combined in path order afterwards.
        let digests: Arc<[AtomicU64]> = (0..n).map(|_| AtomicU64::new(0)).collect();
        let first_error: Arc<Mutex<Option<String>>> = Arc::default();
        let (slots, errors) = (digests.clone(), first_error.clone());
        let ran = sum_batch(b, n, move |i| {
            let file = &files[i];
            let failed = match hash_file(&file.path) {
                Ok((digest, len)) if len == file.len => {
                    // ORDERING: Relaxed; the batch's completion orders it before the loads
                    // below.
                    slots[i].store(digest, Ordering::Relaxed);
                    return 1;
                }
                Ok((_, len)) => format!(
                    "{} has {len} bytes, {} when the tree was walked",
                    file.path.display(),
                    file.len
                ),
                Err(e) => format!("cannot read {}: {e}", file.path.display()),
            };
            errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_or_insert(failed);
            1
        });
        if let Some(e) = first_error.lock().unwrap_or_else(|p| p.into_inner()).take() {
            // The runner reports a panic in `run` as this cell's failure, with the message.
            panic!("files: {e}");
        }
        // ORDERING: Relaxed, ordered after every store by the batch's completion.
        let all = combine(digests.iter().map(|d| d.load(Ordering::Relaxed)));
        // `combine` counted the slots; the jobs counted themselves: a job run twice or never
        // shows as a difference.
        all.wrapping_add(ran).wrapping_sub(n as u64)
    }

    fn answer(&self) -> Answer {
        Answer {
            checksum: self.tree.expected,
            units: self.tree.files.len() as f64,
        }
    }

    fn describe(&self) -> String {
        let t = &self.tree;
        let which = if t.capped {
            format!("the first {} files in path order", t.files.len())
        } else {
            format!("all {} files", t.files.len())
        };
        let of = if t.toolchain {
            "the Rust toolchain".to_owned()
        } else {
            t.root.display().to_string()
        };
        format!(
            "{which} ({:.1} MB, each <= {} MiB) of {of}, {} workers",
            t.bytes as f64 / 1e6,
            MAX_FILE as f64 / (1024.0 * 1024.0),
            self.workers
        )
    }

    fn megabytes(&self) -> Option<f64> {
        Some(self.tree.bytes as f64 / 1e6)
    }

    fn cold_secs(&self) -> Option<f64> {
        Some(self.tree.cold_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contenders::Sequential;

    /// A directory tree made for one test, removed when dropped.
    struct TempTree(PathBuf);

    impl TempTree {
        fn new(name: &str) -> TempTree {
            let dir = std::env::temp_dir()
                .join(format!("shoal-bench-files-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            TempTree(dir)
        }

        fn file(&self, rel: &str, contents: &[u8]) -> PathBuf {
            let path = self.0.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, contents).unwrap();
            path
        }
    }

    impl Drop for TempTree {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn setup(root: &Path) -> Setup {
        Setup {
            files_root: Some(root.to_owned()),
            ..Setup::default()
        }
    }

    fn names(root: &Path, files: &[FileEntry]) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.path
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    }

    #[test]
    fn walk_is_in_path_order_and_skips_links_and_big_files() {
        let t = TempTree::new("walk");
        t.file("b.txt", b"bee");
        t.file("a/z.txt", b"zed");
        t.file("a/b/c.txt", b"");
        t.file("a.b", b"dot");
        t.file("big", &[7; 100]);
        #[cfg(unix)]
        std::os::unix::fs::symlink(t.0.join("b.txt"), t.0.join("link")).unwrap();
        let all = walk(&t.0, usize::MAX, 50).unwrap();
        assert_eq!(
            names(&t.0, &all),
            ["a/b/c.txt", "a/z.txt", "a.b", "b.txt"],
            "component by component, no link, nothing over 50 bytes"
        );
        assert_eq!(all[3].len, 3);
        let first = walk(&t.0, 2, 50).unwrap();
        assert_eq!(names(&t.0, &first), ["a/b/c.txt", "a/z.txt"]);
    }

    #[test]
    fn digest_is_of_every_file_in_path_order() {
        let t = TempTree::new("digest");
        t.file("one", b"first file");
        t.file("sub/two", &vec![42; 40_000]);
        t.file("three", b"");
        let files = Files::prepare_with(Size::FULL, 4, &setup(&t.0)).unwrap();
        // one, sub/two, three in path order: one, sub/two ("s" < "t"), three.
        let want = combine([
            super::super::fnv1a(b"first file"),
            super::super::fnv1a(&vec![42; 40_000]),
            super::super::fnv1a(b""),
        ]);
        assert_eq!(files.answer().checksum, want);
        assert_eq!(files.answer().units, 3.0);
        assert_eq!(files.megabytes(), Some(40_010.0 / 1e6));
        assert!(files.cold_secs().unwrap() >= 0.0);
        let seq = Sequential::build(1).unwrap();
        assert_eq!(files.run(&seq), want, "a run finds the same digest");
        seq.close();
        assert!(
            files.describe().starts_with("all 3 files"),
            "{}",
            files.describe()
        );
    }

    #[test]
    fn small_sizes_take_the_first_files() {
        let t = TempTree::new("cap");
        for i in 0..120 {
            t.file(&format!("f{i:03}"), format!("file {i}").as_bytes());
        }
        let files = Files::prepare_with(Size::TINY, 2, &setup(&t.0)).unwrap();
        assert_eq!(files.answer().units, 100.0);
        assert!(files.describe().starts_with("the first 100 files"));
        let f: Vec<String> = names(&t.0, &files.tree.files);
        assert_eq!(f.first().map(String::as_str), Some("f000"));
        assert_eq!(f.last().map(String::as_str), Some("f099"));
    }

    #[test]
    fn a_changed_file_fails_the_run_with_its_name() {
        let t = TempTree::new("changed");
        t.file("a", b"short");
        let files = Files::prepare_with(Size::TINY, 2, &setup(&t.0)).unwrap();
        t.file("a", b"longer now");
        let seq = Sequential::build(1).unwrap();
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| files.run(&seq)))
            .expect_err("the run fails");
        let msg = shoal_core::panic_message(panic.as_ref()).unwrap_or("");
        assert!(msg.contains("10 bytes, 5 when"), "{msg}");
    }

    #[test]
    fn a_missing_or_empty_root_is_a_clear_error() {
        let t = TempTree::new("missing");
        let gone = t.0.join("not-here");
        let e = Files::prepare_with(Size::TINY, 2, &setup(&gone)).unwrap_err();
        assert!(
            e.contains("cannot read the directory") && e.contains("not-here"),
            "{e}"
        );
        let file = t.file("plain", b"x");
        let e = Files::prepare_with(Size::TINY, 2, &setup(&file)).unwrap_err();
        assert!(e.contains("is not a directory"), "{e}");
        fs::create_dir_all(t.0.join("empty")).unwrap();
        let e = Files::prepare_with(Size::TINY, 2, &setup(&t.0.join("empty"))).unwrap_err();
        assert!(e.contains("no readable regular file"), "{e}");
    }
}
