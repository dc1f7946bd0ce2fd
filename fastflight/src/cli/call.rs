//! `call` and `sql`: a client for any fastflight-compatible server, writing the result
//! in a format.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use futures::StreamExt;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::options::{CallArgs, OutputArgs, SqlArgs};
use crate::format::{self, Format};
use crate::{Error, Result};

pub(super) async fn run(args: CallArgs) -> Result<()> {
    let request = read_request(&args.request)?;
    // The same checks as the server's, before any connection: a clear error at once.
    let param_type = crate::ticket::decode(&request)?.param_type;
    let CallArgs {
        location,
        out,
        credentials,
        ..
    } = args;
    write(&out, &param_type.clone(), async move {
        let client = credentials.connect(&location).await?;
        // A partitioned service's parts are read from their endpoints (and servers).
        if client.is_partitioned(&param_type).await {
            client.fetch_spread(request).await
        } else {
            client.fetch_ticket(request).await
        }
    })
    .await
}

/// `sql`: a statement sent as Flight SQL, its result written as `call` writes one.
pub(super) async fn sql(args: SqlArgs) -> Result<()> {
    let statement = String::from_utf8(read_request(&args.statement)?)
        .map_err(|_| Error::Config("the statement is not UTF-8 text".into()))?;
    let SqlArgs {
        location,
        out,
        credentials,
        ..
    } = args;
    write(&out, "sql", async move {
        let client = credentials.connect(&location).await?;
        client.sql(&statement).await
    })
    .await
}

/// Writes the result `open` opens in the format `out` asks, with a progress line on a
/// terminal (labelled `label`), to a file only once it is whole.
async fn write(
    out: &OutputArgs,
    label: &str,
    open: impl std::future::Future<Output = Result<crate::client::RecordBatchStream>>,
) -> Result<()> {
    let format = out.format.unwrap_or_else(|| {
        if out.output.is_none() && std::io::stdout().is_terminal() {
            Format::Table
        } else {
            Format::Csv
        }
    });
    let progress = progress_bar(out.no_progress, label);
    let output = match &out.output {
        Some(path) => Some(Output::open(path)?),
        None => None,
    };
    let sink: Box<dyn Write + Send> = match &output {
        Some(output) => Box::new(std::io::BufWriter::new(output.file()?)),
        // Both on the terminal: the progress line is cleared before each write of the
        // result, and drawn again after it.
        None if !progress.is_hidden() => {
            Box::new(std::io::BufWriter::new(AroundProgress(progress.clone())))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout())),
    };
    let started = Instant::now();
    let mut stream = open.await?;
    let mut writer = format::writer(format, &stream.schema(), sink)?;
    let (mut rows, mut bytes) = (0_u64, 0_u64);
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        bytes += batch
            .columns()
            .iter()
            .map(|c| c.to_data().get_slice_memory_size().unwrap_or_default() as u64)
            .sum::<u64>();
        writer.write(&batch)?;
        progress.set_message(figures(rows, bytes, started.elapsed()));
    }
    writer.finish()?;
    if let Some(output) = output {
        output.complete()?;
    }
    let done = figures(rows, bytes, started.elapsed());
    if progress.is_hidden() {
        if out.stats {
            eprintln!("{label}: {done}");
        }
    } else {
        progress.finish_with_message(format!("done: {done}"));
    }
    Ok(())
}

/// Standard output written with the progress line out of the way.
struct AroundProgress(ProgressBar);

impl Write for AroundProgress {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.suspend(|| {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(buf)?;
            stdout.flush()?;
            Ok(buf.len())
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().flush()
    }
}

/// Where `--output` writes. A file result is written beside its target and renamed
/// onto it only once whole, so a failed or killed call leaves nothing at the target that
/// could pass for a result. A target that exists and is not a regular file (a device such
/// as `/dev/null`, a pipe) is written in place: renaming onto it would replace it.
enum Output {
    /// The temporary file and the regular file it becomes.
    Partial(tempfile::NamedTempFile, std::path::PathBuf),
    /// A device or pipe, written as the result arrives.
    Direct(std::fs::File),
}

impl Output {
    fn open(target: &std::path::Path) -> Result<Self> {
        let cannot =
            |e: std::io::Error| Error::Config(format!("cannot write {}: {e}", target.display()));
        match std::fs::metadata(target) {
            Ok(meta) if !meta.is_file() && !meta.is_dir() => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(target)
                    .map_err(cannot)?;
                return Ok(Output::Direct(file));
            }
            Ok(meta) if meta.is_dir() => {
                return Err(Error::Config(format!(
                    "cannot write {}: it is a directory",
                    target.display()
                )));
            }
            _ => {}
        }
        // Through a symbolic link, the file it names is the one replaced.
        let target = std::fs::canonicalize(target).unwrap_or_else(|_| target.to_path_buf());
        let folder = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let partial = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".partial")
            .tempfile_in(folder)
            .map_err(cannot)?;
        Ok(Output::Partial(partial, target))
    }

    /// The file to write the result to.
    fn file(&self) -> Result<std::fs::File> {
        Ok(match self {
            Output::Partial(partial, _) => partial.as_file().try_clone()?,
            Output::Direct(file) => file.try_clone()?,
        })
    }

    /// The result is whole: the temporary file takes the target's place.
    fn complete(self) -> Result<()> {
        if let Output::Partial(partial, target) = self {
            partial.as_file().sync_all()?;
            partial.persist(&target).map_err(|e| {
                Error::Config(format!("cannot write {}: {}", target.display(), e.error))
            })?;
        }
        Ok(())
    }
}

/// The request text, or the contents of `@FILE`.
fn read_request(arg: &str) -> Result<Vec<u8>> {
    match arg.strip_prefix('@') {
        Some(path) => std::fs::read(path)
            .map_err(|e| Error::Config(format!("cannot read the request file {path}: {e}"))),
        None => Ok(arg.as_bytes().to_vec()),
    }
}

/// A spinner with rows, bytes and throughput on stderr; hidden unless stderr is a terminal.
fn progress_bar(disabled: bool, param_type: &str) -> ProgressBar {
    if disabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(param_type.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn figures(rows: u64, bytes: u64, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64().max(1e-9);
    format!(
        "{rows} rows, {} in {:.1}s ({}/s, {:.0} rows/s)",
        HumanBytes(bytes),
        seconds,
        HumanBytes((bytes as f64 / seconds) as u64),
        rows as f64 / seconds
    )
}
