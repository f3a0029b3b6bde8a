//! An append-only NDJSON file, fsynced before the acknowledgement.
//!
//! One writer thread appends lines; callbacks that arrive while it syncs are written together
//! and synced once (group commit), so throughput does not fall to one fsync per callback while
//! every acknowledged callback is on disk. A write that fails is cut back off the file, so a
//! refused callback never leaves half a line for the next one to follow.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufRead, Write},
    path::{Path, PathBuf},
};

use async_trait::async_trait;
use tokio::sync::{mpsc, oneshot};

use crate::{Callback, Sink, SinkError, decode_callback};

/// Lines written together at most.
const BATCH: usize = 1024;

struct Append {
    line: Vec<u8>,
    done: oneshot::Sender<Result<(), (io::ErrorKind, String)>>,
}

/// Appends each callback to a file as one line of JSON (without its password) and syncs the
/// file to disk before the listener acknowledges it.
///
/// On Unix the file is created readable by its owner only. Two processes must not append to
/// the same file.
#[derive(Debug, Clone)]
pub struct FileSink {
    tx: mpsc::Sender<Append>,
    path: PathBuf,
}

impl FileSink {
    /// Opens `path` for appending, creating it if needed (and syncing its directory, so the
    /// new file survives a power loss), and starts its writer thread (which ends when the last
    /// clone of the sink is dropped). A last line cut short by a crash (never acknowledged) is
    /// cut off first, so the next line starts on a line of its own.
    ///
    /// # Errors
    /// When the file cannot be opened, repaired or synced, or the thread cannot be started.
    pub fn open(path: impl AsRef<Path>) -> io::Result<Self> {
        let path = path.as_ref().to_path_buf();
        let existed = path.exists();
        let mut options = OpenOptions::new();
        options.create(true).append(true).read(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        cut_torn_line(&file)?;
        if !existed {
            sync_directory_of(&path)?;
        }
        let (tx, rx) = mpsc::channel(BATCH * 4);
        std::thread::Builder::new()
            .name("thingspace-callbacks-file".into())
            .spawn(move || write_until_closed(file, rx))?;
        Ok(Self { tx, path })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads back every callback a file sink wrote to `path`, in order. A last line without its
    /// newline (a write cut short by a crash, never acknowledged) is skipped.
    ///
    /// # Errors
    /// When the file cannot be read, or a complete line is not a callback (the error names the
    /// line number).
    pub fn read(path: impl AsRef<Path>) -> io::Result<Vec<Callback>> {
        let mut reader = io::BufReader::new(File::open(path)?);
        let mut callbacks = Vec::new();
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            if reader.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
                return Ok(callbacks);
            }
            number += 1;
            let callback = decode_callback(&line).map_err(|e| {
                io::Error::new(io::ErrorKind::InvalidData, format!("line {number}: {e}"))
            })?;
            callbacks.push(callback);
        }
    }
}

#[async_trait]
impl Sink for FileSink {
    async fn accept(&self, callback: &Callback) -> Result<(), SinkError> {
        let (done, written) = oneshot::channel();
        let append = Append {
            line: callback.to_json_line(),
            done,
        };
        self.tx.send(append).await.map_err(|_| SinkError::Closed)?;
        match written.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err((kind, message))) => Err(SinkError::Io(io::Error::new(kind, message))),
            Err(_) => Err(SinkError::Closed),
        }
    }
}

/// Cuts a last line without its newline off the file (a write a crash cut short).
fn cut_torn_line(file: &File) -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut reader = file;
    let mut tail = Vec::new();
    let start = len.saturating_sub(64 * 1024);
    reader.seek(SeekFrom::Start(start))?;
    reader.read_to_end(&mut tail)?;
    if tail.last() == Some(&b'\n') {
        return Ok(());
    }
    let keep = match tail.iter().rposition(|b| *b == b'\n') {
        Some(i) => start + i as u64 + 1,
        // No newline in the last 64 KiB (a callback is far smaller): the whole tail is torn.
        None => start,
    };
    file.set_len(keep)?;
    file.sync_data()
}

/// Syncs the directory holding `path`, so that a file just created survives a power loss.
fn sync_directory_of(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn write_until_closed(mut file: File, mut rx: mpsc::Receiver<Append>) {
    let mut batch = Vec::with_capacity(BATCH);
    // After a write that failed and could not be cut back off, the file's end is unknown:
    // every later callback is refused (503) rather than written after a broken line.
    let mut broken = false;
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let result = if broken {
            Err((
                io::ErrorKind::Other,
                "the callbacks file is broken since an earlier failed write".to_owned(),
            ))
        } else {
            append_and_sync(&mut file, &batch).map_err(|(e, cut_back)| {
                broken |= !cut_back;
                tracing::error!(error = %e, lines = batch.len(), "could not append callbacks to the file");
                (e.kind(), e.to_string())
            })
        };
        for append in batch.drain(..) {
            let _ = append.done.send(result.clone());
        }
    }
}

/// Appends and syncs the batch; on failure, the error and whether the file was cut back to
/// where it was.
fn append_and_sync(file: &mut File, batch: &[Append]) -> Result<(), (io::Error, bool)> {
    let before = file.metadata().map_err(|e| (e, true))?.len();
    let mut bytes = Vec::with_capacity(batch.iter().map(|a| a.line.len()).sum());
    for append in batch {
        bytes.extend_from_slice(&append.line);
    }
    match file.write_all(&bytes).and_then(|()| file.sync_data()) {
        Ok(()) => Ok(()),
        // Cut the partial batch off, so the next line starts on a line of its own.
        Err(e) => {
            let cut_back = file.set_len(before).is_ok();
            Err((e, cut_back))
        }
    }
}
