//! `tasksession-licence`: the vendor's tool to create signing keys, issue licences and look
//! inside a licence file without trusting it.
//!
//! Exit codes follow the product's: 0 success, 1 a well-formed request that failed (I/O, a
//! file that already exists), 2 bad usage or malformed input.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use licensing::{KeyId, LicenceRequest, Plan, SigningKeyFile};
use time::{Date, OffsetDateTime};

#[derive(Debug, Parser)]
#[command(
    name = "tasksession-licence",
    version,
    about = "Create signing keys, issue Task Session licences and inspect licence files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new signing key (written with mode 0600) and print its public half.
    Keygen {
        /// Where to write the private key; an existing file is never overwritten.
        #[arg(long)]
        out: PathBuf,
        /// The key's id, carried by every licence it signs (a-z, 0-9, '-').
        #[arg(long, default_value_t = default_key_id())]
        key_id: String,
    },
    /// Sign a licence.
    Issue {
        /// single (1 domain, 1 year), lifetime (1 domain, never expires) or multi (5 domains, 1 year).
        #[arg(long)]
        plan: Plan,
        /// Who the licence is for.
        #[arg(long)]
        licensee: String,
        /// Bind the licence to these domains (comma-separated); default: any names.
        #[arg(long, value_delimiter = ',')]
        domains: Vec<String>,
        /// Day of issue, YYYY-MM-DD (UTC); default today.
        #[arg(long, value_parser = parse_date)]
        issued_at: Option<Date>,
        /// First day the licence is no longer valid, YYYY-MM-DD (UTC); default one year after
        /// issue. Not allowed for lifetime.
        #[arg(long, value_parser = parse_date)]
        expires: Option<Date>,
        /// The licence id; default a random one.
        #[arg(long)]
        id: Option<String>,
        /// The signing key file from `keygen`.
        #[cfg_attr(
            feature = "dev-keys",
            arg(long, required_unless_present = "dev", conflicts_with = "dev")
        )]
        #[cfg_attr(not(feature = "dev-keys"), arg(long, required = true))]
        key: Option<PathBuf>,
        /// Sign with the committed development key (accepted only by development builds).
        #[cfg(feature = "dev-keys")]
        #[arg(long)]
        dev: bool,
        /// Write the licence here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Print a licence file's headers and payload without checking its signature.
    Inspect {
        /// The licence file.
        file: PathBuf,
    },
}

/// A failure with the exit code it maps to.
struct Failure {
    code: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        code: 2,
        message: message.into(),
    }
}

fn failed(message: impl Into<String>) -> Failure {
    Failure {
        code: 1,
        message: message.into(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("error: {}", failure.message);
            ExitCode::from(failure.code)
        }
    }
}

fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Keygen { out, key_id } => keygen(&out, &key_id),
        Command::Inspect { file } => inspect(&file),
        Command::Issue {
            plan,
            licensee,
            domains,
            issued_at,
            expires,
            id,
            key,
            #[cfg(feature = "dev-keys")]
            dev,
            out,
        } => {
            if expires.is_some() && !plan.has_term() {
                return Err(usage(format!(
                    "--expires is not allowed with plan '{plan}', which never expires"
                )));
            }
            let id = match id {
                Some(id) => id,
                None => random_licence_id()?,
            };
            let request = LicenceRequest {
                id,
                licensee,
                plan,
                domains: domains
                    .into_iter()
                    .map(|name| name.trim().to_ascii_lowercase())
                    .filter(|name| !name.is_empty())
                    .collect(),
                issued_at: issued_at.unwrap_or_else(|| OffsetDateTime::now_utc().date()),
                expires_at: expires,
            };
            #[cfg(feature = "dev-keys")]
            if dev {
                let text = licensing::issue_with_development_key(&request)
                    .map_err(|error| usage(error.to_string()))?;
                return write_output(out.as_deref(), &text);
            }
            let key = key.ok_or_else(|| usage("give --key FILE"))?;
            let key = read_signing_key(&key)?;
            let text =
                licensing::issue(&request, &key).map_err(|error| usage(error.to_string()))?;
            write_output(out.as_deref(), &text)
        }
    }
}

fn default_key_id() -> String {
    let today = OffsetDateTime::now_utc().date();
    format!("vendor-{}-{:02}", today.year(), u8::from(today.month()))
}

fn parse_date(text: &str) -> Result<Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text, format).map_err(|_| format!("'{text}' is not a date in the form YYYY-MM-DD"))
}

fn random_bytes<const N: usize>() -> Result<[u8; N], Failure> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)
        .map_err(|error| failed(format!("the system's random source failed: {error}")))?;
    Ok(bytes)
}

fn random_licence_id() -> Result<String, Failure> {
    let bytes: [u8; 8] = random_bytes()?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("lic-{hex}"))
}

fn keygen(out: &Path, key_id: &str) -> Result<(), Failure> {
    let key_id = KeyId::parse(key_id).map_err(usage)?;
    let key = SigningKeyFile::from_seed(key_id, random_bytes()?);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(out).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            failed(format!(
                "{} already exists; a signing key is never overwritten, choose another --out",
                out.display()
            ))
        } else {
            failed(format!("cannot create {}: {error}", out.display()))
        }
    })?;
    file.write_all(key.to_text().as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| failed(format!("cannot write {}: {error}", out.display())))?;
    let public = key.verifying_key().to_bytes();
    let array: Vec<String> = public.iter().map(|b| format!("0x{b:02x}")).collect();
    println!("wrote signing key '{}' to {}", key.key_id, out.display());
    println!("keep it offline; compile its public half into VENDOR_KEYS:");
    println!("(\"{}\", [{}]),", key.key_id, array.join(", "));
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<u8>, Failure> {
    std::fs::read(path).map_err(|error| usage(format!("cannot read {}: {error}", path.display())))
}

fn read_signing_key(path: &Path) -> Result<SigningKeyFile, Failure> {
    SigningKeyFile::parse(&read_file(path)?)
        .map_err(|detail| usage(format!("{}: {detail}", path.display())))
}

fn write_output(out: Option<&Path>, text: &str) -> Result<(), Failure> {
    match out {
        None => {
            print!("{text}");
            Ok(())
        }
        Some(path) => std::fs::write(path, text)
            .map_err(|error| failed(format!("cannot write {}: {error}", path.display()))),
    }
}

fn inspect(path: &Path) -> Result<(), Failure> {
    let unsigned = licensing::read_unsigned(&read_file(path)?)
        .map_err(|error| usage(format!("{}: {error}", path.display())))?;
    println!("key id:    {}", unsigned.key_id);
    println!("signature: not checked (use 'tasksession licence verify' to check it)");
    match unsigned.licence_unchecked() {
        Ok(_) => println!("fields:    well-formed for the plan"),
        Err(error) => println!("fields:    {error}"),
    }
    let payload = unsigned
        .payload_pretty()
        .map_err(|error| usage(format!("{}: {error}", path.display())))?;
    println!("{payload}");
    Ok(())
}
