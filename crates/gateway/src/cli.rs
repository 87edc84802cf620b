//! The `tasksession` command line: words and options exactly as PRODUCT.md lists them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Task Session: self-hosted project management and client portals for agencies.
#[derive(Debug, Parser)]
#[command(name = "tasksession", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default ./tasksession.toml, optional).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the platform.
    Serve,
    /// Show, verify or install the licence.
    #[command(subcommand)]
    Licence(LicenceCommand),
}

/// `tasksession licence …`.
#[derive(Debug, Subcommand)]
pub enum LicenceCommand {
    /// Print the plan, licensee, domains, expiry and state of the installed licence (or FILE).
    Show {
        /// A licence file to show instead of the installed one.
        file: Option<PathBuf>,
    },
    /// Like `show`, and exit 0 if valid or in grace, 1 if expired or none is installed, 2 if
    /// invalid or unreadable.
    Verify {
        /// A licence file to check instead of the installed one.
        file: Option<PathBuf>,
    },
    /// Verify FILE, then install it as the active licence (a bad file never replaces a good one).
    Install {
        /// The licence file received from the vendor.
        file: PathBuf,
    },
}
