//! The `wechatpay` binary.

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};
use wechatpay_cli::args::{Cli, Command};
use wechatpay_cli::commands::{call, describe, sandbox, sign, verify};
use wechatpay_cli::exit::{exit_codes_help, CliError, ExitClass};
use wechatpay_sandbox::faults;
use wechatpay_transport::{Clock, SystemClock};

fn main() -> ExitCode {
    let exit_codes = exit_codes_help();
    let command = Cli::command()
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
        .mut_subcommand("sandbox", |c| {
            c.after_help(format!("{}\n\n{exit_codes}", faults::FAULT_HELP))
        });
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wechatpay: {e}");
            ExitCode::from(e.class.code())
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let now = SystemClock.now_unix();
    match cli.command {
        Command::Call(args) => {
            let (prepared, client) = call::plan(&args)?;
            let reply = runtime()?.block_on(call::send(&client, prepared))?;
            print_body(&reply.body)
        }
        Command::Describe(args) => print_text(&describe::run(args.operation.as_deref())?),
        Command::Sign(args) => print_text(&sign::run(&args, now)?),
        Command::Verify(args) => {
            let verified = verify::run(&args, now)?;
            eprintln!("{}", verified.summary);
            print_body(&verified.stdout)
        }
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
    print_body(text.trim_end().as_bytes())
}

/// Writes `bytes` and a newline to stdout (a closed pipe is not an error worth a panic).
fn print_body(bytes: &[u8]) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .map_err(|e| CliError::new(ExitClass::Internal, format!("cannot write to stdout: {e}")))
}
