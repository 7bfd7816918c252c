//! The `wechatpay` binary.

use std::io::Write as _;
use std::process::ExitCode;

use clap::FromArgMatches;
use wechatpay_cli::args::{command, CampaignCommand, Cli, Command, NotifyCommand};
use wechatpay_cli::commands::{
    call, campaign, certificates, describe, notify, pages, sandbox, sign, verify,
};
use wechatpay_cli::exit::{exit_codes_help, CliError, ExitClass};
use wechatpay_sandbox::faults;
use wechatpay_transport::{Clock, SystemClock};

fn main() -> ExitCode {
    let exit_codes = exit_codes_help();
    let command = command()
        .after_help(exit_codes.clone())
        .mut_subcommand("call", |c| {
            c.after_help(format!(
                "Operations:\n{}\n{exit_codes}",
                describe::operation_list()
            ))
        })
        .mut_subcommand("describe", |c| c.after_help(exit_codes.clone()))
        .mut_subcommand("sign", |c| c.after_help(exit_codes.clone()))
        .mut_subcommand("verify", |c| c.after_help(exit_codes.clone()))
        .mut_subcommand("certificates", |c| c.after_help(exit_codes.clone()))
        .mut_subcommand("campaign", |c| {
            c.after_help(exit_codes.clone())
                .mut_subcommand("send", |s| {
                    s.after_help(format!(
                        "Operations with a request number:\n{}\n{exit_codes}",
                        describe::campaign_operation_list()
                    ))
                })
                .mut_subcommand("status", |s| s.after_help(exit_codes.clone()))
                .mut_subcommand("report", |s| s.after_help(exit_codes.clone()))
        })
        .mut_subcommand("notify", |c| {
            c.after_help(exit_codes.clone())
                .mut_subcommand("serve", |s| s.after_help(exit_codes.clone()))
                .mut_subcommand("report", |s| s.after_help(exit_codes.clone()))
        })
        .mut_subcommand("sandbox", |c| {
            c.after_help(format!("{}\n\n{exit_codes}", faults::FAULT_HELP))
        });
    // clap prints help and errors itself and ignores a closed pipe.
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    wechatpay_cli::log::install(cli.verbose);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed standard error must not turn a failure into a panic (exit 101).
            let _ = writeln!(std::io::stderr().lock(), "wechatpay: {e}");
            ExitCode::from(e.class.code())
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let now = SystemClock.now_unix();
    match cli.command {
        Command::Call(args) => {
            // The reply of a request that takes effect must have somewhere to go.
            if stdout_closed() {
                return Err(CliError::new(
                    ExitClass::Output,
                    "standard output is closed, so the reply would be lost; nothing was sent \
                     (give the command a standard output, e.g. `> reply.json`)",
                ));
            }
            let plan = call::plan(&args)?;
            let info = plan.prepared.info;
            if args.all {
                let followed = runtime()?.block_on(pages::follow(
                    &plan.client,
                    plan.prepared,
                    plan.body,
                    print_body,
                ))?;
                note(&format!(
                    "call: {} items from {} pages",
                    followed.items, followed.pages
                ));
                return Ok(());
            }
            let reply = runtime()?.block_on(call::send(&plan.client, plan.prepared, plan.file))?;
            let text = call::output(info, reply, args.raw)?;
            print_body(&text).map_err(|e| {
                let again = match info.request_number.map(|n| n.field) {
                    Some(field) => format!("send it again with the same {field} to get the same result"),
                    None => "query it to see the result".to_owned(),
                };
                let what = if args.raw { "verified" } else { "verified and decoded" };
                CliError::new(
                    ExitClass::Output,
                    format!("the reply {what}, but it could not be written to standard output ({e}); the request took effect: {again}"),
                )
            })
        }
        Command::Describe(args) => print_text(&describe::run(args.operation.as_deref())?),
        Command::Sign(args) => print_text(&sign::run(&args, now)?),
        Command::Verify(args) => {
            let verified = verify::run(&args, now)?;
            note(&verified.summary);
            print_body(&verified.stdout).map_err(output_error)
        }
        Command::Certificates(args) => {
            let (client, key) = certificates::plan(&args)?;
            let downloaded = runtime()?.block_on(certificates::run(&args, &client, &key))?;
            note(&downloaded.note);
            let text = serde_json::to_vec_pretty(&downloaded.stdout)
                .map_err(|e| CliError::internal(format!("cannot print the result: {e}")))?;
            print_body(&text).map_err(output_error)
        }
        Command::Campaign(args) => match args.command {
            CampaignCommand::Send(args) => {
                let (summary, outcome) = campaign::send(&args);
                if let Some(line) = summary {
                    print_text(&line)?;
                }
                outcome
            }
            CampaignCommand::Status(args) => print_text(&campaign::status(&args)?),
            CampaignCommand::Report(args) => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                campaign::report(&args, &mut out)
            }
        },
        Command::Notify(args) => match args.command {
            NotifyCommand::Serve(args) => notify::serve(&args),
            NotifyCommand::Report(args) => {
                let mut out = std::io::BufWriter::new(std::io::stdout().lock());
                notify::report(&args, &mut out)
            }
        },
        Command::Sandbox(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .map_err(|e| CliError::internal(format!("cannot start the runtime: {e}")))?;
            runtime.block_on(sandbox::run(&args))
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::internal(format!("cannot start the runtime: {e}")))
}

fn print_text(text: &str) -> Result<(), CliError> {
    print_body(text.trim_end().as_bytes()).map_err(output_error)
}

fn output_error(e: std::io::Error) -> CliError {
    CliError::new(
        ExitClass::Output,
        format!("cannot write to standard output: {e}"),
    )
}

/// A line for standard error, best-effort.
fn note(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Writes `bytes` and a newline to stdout. Rust ignores SIGPIPE, so a closed
/// pipe is an error here (never a panic), reported as exit 9; so is a closed
/// standard output (`>&-`), which would otherwise swallow every byte.
fn print_body(bytes: &[u8]) -> std::io::Result<()> {
    if stdout_closed() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::BrokenPipe,
            "standard output is closed",
        ));
    }
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
}

/// Whether the process was started with standard output closed (`>&-`).
///
/// Rust's runtime puts `/dev/null`, opened read-write, on a standard
/// descriptor that is closed at startup, so every write "succeeds" and the
/// output is lost without an error. A shell's `> /dev/null` opens it
/// write-only, so a read-write `/dev/null` on descriptor 1 is the closed one.
#[cfg(unix)]
fn stdout_closed() -> bool {
    // SAFETY: fcntl and fstat only read the descriptor's flags and status into
    // local, zero-initialised memory; no descriptor is created or closed.
    unsafe {
        let flags = libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFL);
        if flags == -1 {
            return true;
        }
        if flags & libc::O_ACCMODE != libc::O_RDWR {
            return false;
        }
        let mut out: libc::stat = std::mem::zeroed();
        let mut null: libc::stat = std::mem::zeroed();
        libc::fstat(libc::STDOUT_FILENO, &mut out) == 0
            && libc::stat(c"/dev/null".as_ptr(), &mut null) == 0
            && (out.st_mode & libc::S_IFMT) == libc::S_IFCHR
            && out.st_rdev == null.st_rdev
    }
}

#[cfg(not(unix))]
fn stdout_closed() -> bool {
    false
}
