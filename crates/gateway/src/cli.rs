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

    /// Where the platform keeps its data, instead of `data_dir` from the configuration
    /// (`demo`: default ./demo-data).
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// The top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the platform.
    Serve,
    /// Seed five demo brands on *.localhost and serve them (data in --data-dir, default
    /// ./demo-data).
    Demo,
    /// Bring the platform store and every brand's store up to date.
    Migrate,
    /// Show, verify or install the licence.
    #[command(subcommand)]
    Licence(LicenceCommand),
    /// Add, list, suspend, activate or remove brands' domains.
    #[command(subcommand)]
    Domain(DomainCommand),
    /// Show, renew or import domains' TLS certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Add users to a brand.
    #[command(subcommand)]
    User(UserCommand),
    /// Write one brand's data to a portable backup file (while the platform runs).
    Backup {
        /// The brand's domain.
        #[arg(long)]
        domain: String,
        /// The backup file to write (replaced only once the backup is complete).
        #[arg(long, value_name = "FILE")]
        out: std::path::PathBuf,
    },
    /// Restore a backup into an empty brand (created when DOMAIN does not exist yet).
    Restore {
        /// The brand's domain.
        #[arg(long)]
        domain: String,
        /// The backup file.
        #[arg(long, value_name = "FILE")]
        from: std::path::PathBuf,
    },
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

/// `tasksession domain …`.
#[derive(Debug, Subcommand)]
pub enum DomainCommand {
    /// Add a brand on DOMAIN and create its store.
    Add {
        /// The domain name the brand is served on (e.g. projects.acme.com).
        domain: String,
        /// The brand's name, shown on its pages.
        #[arg(long)]
        brand: String,
        /// Invite this address as the brand's first admin and print the invitation link.
        #[arg(long, value_name = "EMAIL")]
        admin_email: Option<String>,
        /// How the ACME CA checks this domain, instead of `[acme] challenge`.
        #[arg(long, value_name = "TYPE", value_parser = ["http-01", "tls-alpn-01"])]
        acme_challenge: Option<String>,
    },
    /// List every domain with its brand, state, creation date and user count.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Stop serving DOMAIN and keep its data (with --purge --confirm DOMAIN: delete it).
    Remove {
        /// The domain.
        domain: String,
        /// Delete the brand's data for good.
        #[arg(long, requires = "confirm")]
        purge: bool,
        /// Repeat the domain name to confirm --purge.
        #[arg(long, value_name = "DOMAIN", requires = "purge")]
        confirm: Option<String>,
    },
    /// Stop serving DOMAIN (its visitors see a "domain not licensed" page); data kept.
    Suspend {
        /// The domain.
        domain: String,
    },
    /// Serve a suspended or removed DOMAIN again, if the licence has room.
    Activate {
        /// The domain.
        domain: String,
    },
}

/// `tasksession cert …`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Show each domain's certificate: source, issuer, expiry, next renewal, last error.
    Status {
        /// Only this domain.
        domain: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Order a new certificate for DOMAIN from the ACME CA now (a running server answers the
    /// CA's challenge), and wait for it.
    Renew {
        /// The domain.
        domain: String,
    },
    /// Install a certificate obtained elsewhere for DOMAIN; it is not renewed automatically.
    Import {
        /// The domain.
        domain: String,
        /// The certificate chain, PEM, leaf first.
        #[arg(long, value_name = "PEM")]
        cert: PathBuf,
        /// Its private key, PEM.
        #[arg(long, value_name = "PEM")]
        key: PathBuf,
    },
}

/// `tasksession user …`.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Invite a user to the brand on DOMAIN and print the invitation link.
    Add {
        /// The brand's domain.
        #[arg(long)]
        domain: String,
        /// The user's email address.
        #[arg(long)]
        email: String,
        /// The user's name.
        #[arg(long)]
        name: String,
        /// The role's id: admin, staff or client.
        #[arg(long)]
        role: String,
        /// The client company's id (client users only).
        #[arg(long, value_name = "ID")]
        company: Option<String>,
    },
}
