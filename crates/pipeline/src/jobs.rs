//! `--jobs N`: several inputs analysed at once, their results and output in input order.
//!
//! Each input is one independent pass (its own reader, flows engine and analyzers), so running
//! several at once changes nothing in what each produces. What must not change either is the
//! order of the output: every input writes into its own [`Spool`] (in memory up to
//! [`SPOOL_MEMORY`], then an unnamed temporary file, so a large output does not stay in
//! memory), and the calling thread hands the spools over in input order, each as soon as it
//! and every input before it are done. With `jobs == 1` nothing runs on another thread and the
//! output goes straight through.
//!
//! Memory: at most `jobs` inputs are in a pass at once; finished inputs waiting for an
//! earlier one keep only their results and their spool (bounded in memory by
//! [`SPOOL_MEMORY`]).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

/// Output bytes an input keeps in memory before its spool moves to a temporary file.
pub const SPOOL_MEMORY: usize = 8 << 20;

/// The default for `--jobs`: the cores this process may use.
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// `--jobs` as given (0 or absent: [`default_jobs`]).
pub fn resolve(jobs: Option<usize>) -> usize {
    match jobs {
        None | Some(0) => default_jobs(),
        Some(n) => n,
    }
}

/// One input's output, kept until its turn: in memory, then in a temporary file.
#[derive(Default)]
pub struct Spool {
    mem: Vec<u8>,
    file: Option<File>,
}

impl Spool {
    /// Copy everything written into `out`.
    pub fn copy_to(mut self, out: &mut dyn Write) -> io::Result<()> {
        match self.file.take() {
            None => out.write_all(&self.mem),
            Some(mut f) => {
                f.write_all(&self.mem)?;
                f.seek(SeekFrom::Start(0))?;
                let mut buf = vec![0u8; 1 << 16];
                loop {
                    let n = f.read(&mut buf)?;
                    if n == 0 {
                        return Ok(());
                    }
                    out.write_all(buf.get(..n).unwrap_or(&[]))?;
                }
            }
        }
    }

    fn spill(&mut self) -> io::Result<()> {
        let f = match &mut self.file {
            Some(f) => f,
            None => self.file.insert(temp_file()?),
        };
        f.write_all(&self.mem)?;
        self.mem.clear();
        Ok(())
    }
}

impl Write for Spool {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.mem.extend_from_slice(data);
        if self.mem.len() >= SPOOL_MEMORY {
            self.spill()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A temporary file that is gone as soon as it is closed (removed right after creation).
fn temp_file() -> io::Result<File> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir();
    for _ in 0..100 {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("tracehound-spool-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path) {
            Ok(f) => {
                // On Unix the open file stays usable; elsewhere it is left for the system.
                let _ = std::fs::remove_file(&path);
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free name for a temporary file"))
}

/// Run `work` over every item on up to `jobs` threads; `emit(index, result)` runs on the
/// calling thread in input order. With `jobs <= 1` (or one item) all runs on this thread.
pub fn map_ordered<I, R>(
    items: &[I],
    jobs: usize,
    work: impl Fn(&I) -> R + Sync,
    emit: impl FnMut(usize, R),
) where
    I: Sync,
    R: Send,
{
    map_indexed(items, jobs, |_, it| work(it), emit)
}

/// [`map_ordered`] with the item's index given to `work`.
fn map_indexed<I, R>(
    items: &[I],
    jobs: usize,
    work: impl Fn(usize, &I) -> R + Sync,
    mut emit: impl FnMut(usize, R),
) where
    I: Sync,
    R: Send,
{
    let threads = jobs.min(items.len());
    if threads <= 1 {
        for (i, it) in items.iter().enumerate() {
            emit(i, work(i, it));
        }
        return;
    }
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, R)>();
    std::thread::scope(|s| {
        let mut workers = Vec::with_capacity(threads);
        for t in 0..threads {
            let (tx, next, work) = (tx.clone(), &next, &work);
            let spawned = std::thread::Builder::new().name(format!("job-{t}")).spawn_scoped(
                s,
                move || loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(it) = items.get(i) else { return };
                    if tx.send((i, work(i, it))).is_err() {
                        return;
                    }
                },
            );
            match spawned {
                Ok(h) => workers.push(h),
                // No thread to be had: the threads started (at least this one) do the rest.
                Err(_) => break,
            }
        }
        drop(tx);
        let mut waiting: std::collections::BTreeMap<usize, R> = Default::default();
        let mut due = 0usize;
        if workers.is_empty() {
            // Not a single thread could start: do it all here.
            for (i, it) in items.iter().enumerate() {
                emit(i, work(i, it));
            }
            return;
        }
        for (i, r) in rx.iter() {
            waiting.insert(i, r);
            while let Some(r) = waiting.remove(&due) {
                emit(due, r);
                due += 1;
            }
        }
        for w in workers {
            if let Err(panic) = w.join() {
                std::panic::resume_unwind(panic);
            }
        }
    });
}

/// [`map_ordered`] for inputs that write output: `work(item, out)` writes into `out`, and
/// `emit(index, result, sink)` runs in input order after the item's output is in `sink`.
/// Sequential: straight into `sink`. In parallel: the item whose turn it is writes straight
/// into `sink` (under a lock), the others into their [`Spool`] until their turn comes (the
/// spool is then copied and they go on writing straight through); `emit` then runs on the
/// thread that finished the item.
pub fn write_ordered<I, R, W>(
    items: &[I],
    jobs: usize,
    sink: &mut W,
    work: impl Fn(&I, &mut (dyn Write + Send)) -> R + Sync,
    mut emit: impl FnMut(usize, R, &mut W) -> io::Result<()> + Send,
) -> io::Result<()>
where
    I: Sync,
    R: Send,
    W: Write + Send,
{
    if jobs.min(items.len()) <= 1 {
        for (i, it) in items.iter().enumerate() {
            let r = work(it, sink);
            emit(i, r, sink)?;
        }
        return Ok(());
    }
    let turn = Turn {
        due: AtomicUsize::new(0),
        state: Mutex::new(Shared { sink, emit: &mut emit, waiting: Default::default(), err: None }),
    };
    map_indexed(
        items,
        jobs,
        |i, it| {
            let mut out = Head { i, turn: &turn, spool: Spool::default(), direct: false };
            let r = work(it, &mut out);
            turn.done(i, r, out);
        },
        |_, ()| {},
    );
    let st = turn.state.into_inner().unwrap_or_else(|p| p.into_inner());
    st.err.map_or(Ok(()), Err)
}

/// Whose turn it is to write, and the finished items waiting for theirs.
struct Turn<'a, R, W, E> {
    due: AtomicUsize,
    state: Mutex<Shared<'a, R, W, E>>,
}

struct Shared<'a, R, W, E> {
    sink: &'a mut W,
    emit: &'a mut E,
    waiting: std::collections::BTreeMap<usize, (R, Spool)>,
    err: Option<io::Error>,
}

impl<'a, R, W: Write, E: FnMut(usize, R, &mut W) -> io::Result<()>> Turn<'a, R, W, E> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared<'a, R, W, E>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Item `i` is finished: emit it (and the finished ones after it) when its turn has come,
    /// else leave it waiting.
    fn done(&self, i: usize, r: R, out: Head<'_, 'a, R, W, E>) {
        let mut st = self.lock();
        st.waiting.insert(i, (r, out.spool));
        let mut due = self.due.load(Ordering::Acquire);
        while let Some((r, spool)) = st.waiting.remove(&due) {
            if st.err.is_none() {
                let Shared { sink, emit, .. } = &mut *st;
                if let Err(e) = spool.copy_to(*sink).and_then(|_| emit(due, r, sink)) {
                    st.err = Some(e);
                }
            }
            due += 1;
            self.due.store(due, Ordering::Release);
        }
    }
}

/// An item's output: its spool until its turn, then straight into the sink.
struct Head<'t, 'a, R, W, E> {
    i: usize,
    turn: &'t Turn<'a, R, W, E>,
    spool: Spool,
    direct: bool,
}

impl<R, W: Write, E: FnMut(usize, R, &mut W) -> io::Result<()>> Write for Head<'_, '_, R, W, E> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.direct && self.turn.due.load(Ordering::Acquire) == self.i {
            // Our turn: what was spooled goes first, then everything straight through.
            let mut st = self.turn.lock();
            std::mem::take(&mut self.spool).copy_to(&mut *st.sink)?;
            self.direct = true;
        }
        if self.direct {
            let mut st = self.turn.lock();
            st.sink.write_all(data)?;
            Ok(data.len())
        } else {
            self.spool.write(data)
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_input_order_whatever_finishes_first() {
        // Later items finish first (earlier ones sleep longer).
        let items: Vec<u64> = (0..12).collect();
        for jobs in [1, 2, 5, 32] {
            let mut got = Vec::new();
            map_ordered(
                &items,
                jobs,
                |&i| {
                    std::thread::sleep(std::time::Duration::from_millis((12 - i) * 2));
                    i * 10
                },
                |idx, r| got.push((idx, r)),
            );
            let want: Vec<(usize, u64)> = (0..12).map(|i| (i as usize, i * 10)).collect();
            assert_eq!(got, want, "jobs {jobs}");
        }
    }

    #[test]
    fn output_is_the_same_in_memory_spilled_and_sequential() {
        // Item 3 writes more than SPOOL_MEMORY, so its spool goes through a temporary file.
        let items: Vec<usize> = (0..6).collect();
        let body = |&i: &usize, out: &mut (dyn Write + Send)| -> usize {
            let n = if i == 3 { SPOOL_MEMORY + 12_345 } else { 1000 * i + 7 };
            let chunk: Vec<u8> = (0..n.min(4096)).map(|k| (k % 251) as u8 ^ i as u8).collect();
            let mut left = n;
            while left > 0 {
                let k = left.min(chunk.len());
                out.write_all(&chunk[..k]).unwrap();
                left -= k;
            }
            n
        };
        let run = |jobs| {
            let mut sink = Vec::new();
            let mut ns = Vec::new();
            write_ordered(&items, jobs, &mut sink, body, |_, n, s: &mut Vec<u8>| {
                ns.push((n, s.len()));
                Ok(())
            })
            .unwrap();
            (sink, ns)
        };
        let one = run(1);
        assert_eq!(one.0.len(), 12_035 + SPOOL_MEMORY + 12_345);
        assert_eq!(run(3), one);
        assert_eq!(run(6), one);
    }
}
