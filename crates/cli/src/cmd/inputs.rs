//! The loop over a command's inputs, shared by `conversations` and `rpc`: one input at a time
//! in order, or — with `--jobs` above 1 and every input a file on its own — several at once
//! with the output still in input order; the exit codes merged.

use std::io::Write;
use std::path::PathBuf;

use tracehound_export::Exporter;
use tracehound_pipeline::fileset::{FileSets, Input};

use crate::exit;

/// Run `one_file` over every input of `sets` and merge the exit codes in input order: an
/// input that could not be read at all (exit 3) wins; otherwise the first non-zero code.
/// After an input fails with an error, nothing more counts (nor is written, as when one at a
/// time) and the error is returned. The exporter, when given, takes the records in file order,
/// so it runs on this thread (`jobs` then has no effect).
pub fn run_inputs<W, F>(
    sets: &mut FileSets,
    jobs: Option<usize>,
    out: &mut W,
    ex: &mut Option<Exporter>,
    one_file: F,
) -> anyhow::Result<u8>
where
    W: Write + Send,
    F: Fn(Input, &mut (dyn Write + Send), &mut Option<Exporter>) -> anyhow::Result<u8> + Sync,
{
    let jobs = if ex.is_some() { 1 } else { tracehound_pipeline::jobs::resolve(jobs) };
    let mut code = exit::OK;
    let mut failed: Option<anyhow::Error> = None;
    // True once failed.
    let mut merge = |r: anyhow::Result<u8>| {
        match r {
            _ if failed.is_some() => {}
            Ok(c) if c == exit::INPUT || code == exit::OK => code = c,
            Ok(_) => {}
            Err(e) => failed = Some(e),
        }
        failed.is_some()
    };
    let singles = sets.single_files();
    if jobs <= 1 || singles.len() < 2 {
        while let Some(input) = sets.next_input() {
            if merge(one_file(input, out, ex)) {
                break;
            }
        }
    } else {
        let work = |p: &PathBuf, o: &mut (dyn Write + Send)| {
            one_file(Input::File(p.clone()), o, &mut None)
        };
        tracehound_pipeline::jobs::write_ordered(&singles, jobs, out, work, |_, r, _| {
            merge(r);
            Ok(())
        })?;
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(code),
    }
}
