//! The edge of Task Session and its `tasksession` command: configuration, the command line,
//! the licence as the platform applies it, listeners and (as they land) TLS, routing and
//! ACME. The binary in `main.rs` only calls [`main_with_args`].

pub mod acme;
pub mod backup;
pub mod cert;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domains;
pub mod edge;
pub mod faults;
pub mod licence;
pub mod listeners;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod migrate;
pub mod operator;
pub mod outcome;
pub mod pages;
pub mod payments;
pub mod platform;
pub mod renewal;
pub mod replies;
pub mod serve;
pub mod tls;

use std::ffi::OsString;

use clap::Parser as _;

use crate::cli::{CertCommand, Cli, Command, DomainCommand, LicenceCommand, UserCommand};
use crate::config::Config;
use crate::outcome::{Failure, Outcome};

/// Makes a closed output pipe (`tasksession domain list | head -1`) end the command quietly
/// with status 141, as it would a C program killed by SIGPIPE, instead of a panic: Rust's
/// `println!` panics when stdout is gone, and that is the one panic this catches.
pub fn exit_quietly_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or_default();
        if message.starts_with("failed printing to std") && message.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// Runs the command line `args` with the process environment and returns the exit code:
/// 0 success, 1 refused or failed, 2 bad usage or malformed input.
pub fn main_with_args(args: impl IntoIterator<Item = OsString>) -> u8 {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    match run(cli) {
        Ok(()) => 0,
        Err(failure) => {
            eprintln!("error: {failure}");
            failure.exit_code()
        }
    }
}

fn run(cli: Cli) -> Outcome {
    let mut config = Config::load(cli.config.as_deref(), std::env::vars_os())
        .map_err(|e| Failure::BadInput(e.to_string()))?;
    // `--data-dir` beats the file and the environment; `demo` picks its own default.
    if let (Some(dir), false) = (&cli.data_dir, matches!(cli.command, Command::Demo)) {
        config.data_dir = dir.clone();
    }
    match cli.command {
        Command::Serve => {
            logging::init(config.log_format);
            serve::run(config)
        }
        Command::Demo => demo::run(&config, cli.data_dir.as_deref()),
        Command::Migrate => migrate::run(&config),
        Command::Domain(command) => match command {
            DomainCommand::Add {
                domain,
                brand,
                admin_email,
                acme_challenge,
            } => domains::add(
                &config,
                &domain,
                &brand,
                admin_email.as_deref(),
                acme_challenge.as_deref(),
            ),
            DomainCommand::List { json } => domains::list(&config, json),
            DomainCommand::Remove {
                domain,
                purge,
                confirm,
            } => domains::remove(&config, &domain, purge, confirm.as_deref()),
            DomainCommand::Suspend { domain } => domains::suspend(&config, &domain),
            DomainCommand::Activate { domain } => domains::activate(&config, &domain),
        },
        Command::Cert(command) => match command {
            CertCommand::Status { domain, json } => cert::status(&config, domain.as_deref(), json),
            CertCommand::Renew { domain } => cert::renew(&config, &domain),
            CertCommand::Import { domain, cert, key } => {
                cert::import(&config, &domain, &cert, &key)
            }
        },
        Command::User(UserCommand::Add {
            domain,
            email,
            name,
            role,
            company,
        }) => domains::add_user(&config, &domain, &email, &name, &role, company.as_deref()),
        Command::Backup { domain, out } => backup::backup(&config, &domain, &out),
        Command::Restore { domain, from } => backup::restore(&config, &domain, &from),
        Command::Licence(command) => match command {
            LicenceCommand::Show { file } => licence::show(&config, file.as_deref()),
            LicenceCommand::Verify { file } => licence::verify(&config, file.as_deref()),
            LicenceCommand::Install { file } => licence::install(&config, &file),
        },
    }
}
