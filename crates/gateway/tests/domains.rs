//! `tasksession domain …`, `user add` and `migrate` run as the real binary: what the licence
//! allows, malformed names, invitation links, the operator's states, and a `domain add`
//! killed at each step of its work, on SQLite and (when reachable) PostgreSQL.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::ExitStatusExt as _;
use std::process::{Child, Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use licensing::Plan;
use serde_json::Value;
use support::{PostgresDb, Workdir, licence, multi_licence, today};

/// One platform under test: a working directory (`./data`), and its PostgreSQL database
/// when it runs on PostgreSQL.
struct Site {
    work: Workdir,
    postgres: Option<PostgresDb>,
}

/// What one command did.
#[derive(Debug)]
struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Ran {
    /// Asserts the exit code, showing what the command said when it differs.
    fn expect(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}\nstdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl Site {
    fn sqlite() -> Self {
        Site {
            work: Workdir::new(),
            postgres: None,
        }
    }

    /// A site on a fresh PostgreSQL database, or `None` when PostgreSQL is not reachable
    /// (outside CI).
    fn postgres() -> Option<Self> {
        Some(Site {
            work: Workdir::new(),
            postgres: Some(PostgresDb::create()?),
        })
    }

    fn command(&self) -> assert_cmd::Command {
        let mut command = self.work.command();
        if let Some(db) = &self.postgres {
            command.env("TASKSESSION_DATABASE_URL", db.url());
        }
        command
    }

    fn std_command(&self) -> StdCommand {
        let mut command = self.work.std_command();
        if let Some(db) = &self.postgres {
            command.env("TASKSESSION_DATABASE_URL", db.url());
        }
        command
    }

    fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Ran {
        let mut command = self.command();
        for (name, value) in env {
            command.env(name, value);
        }
        let output = command.args(args).output().unwrap();
        Ran {
            code: output.status.code(),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Ran {
        self.run_with(&[], args)
    }

    fn add(&self, domain: &str, brand: &str) -> Ran {
        self.run(&["domain", "add", domain, "--brand", brand])
    }

    /// `domain list --json`, parsed.
    fn list(&self) -> Vec<Value> {
        let ran = self.run(&["domain", "list", "--json"]).expect(0);
        match serde_json::from_str(&ran.stdout) {
            Ok(Value::Array(rows)) => rows,
            other => panic!("domain list --json printed {:?}: {other:?}", ran.stdout),
        }
    }

    /// The listed row of `domain`, if it is listed.
    fn row(&self, domain: &str) -> Option<Value> {
        self.list().into_iter().find(|row| row["domain"] == domain)
    }

    fn listed_domains(&self) -> BTreeSet<String> {
        self.list()
            .iter()
            .map(|row| row["domain"].as_str().unwrap().to_owned())
            .collect()
    }

    fn state_of(&self, domain: &str) -> String {
        let row = self
            .row(domain)
            .unwrap_or_else(|| panic!("{domain} not listed"));
        row["state"].as_str().unwrap().to_owned()
    }

    /// Every name under `data/tenants/` (tenant directories and `*.creating` lock files).
    fn tenant_entries(&self) -> BTreeSet<String> {
        match std::fs::read_dir(self.work.path().join("data").join("tenants")) {
            Ok(entries) => entries
                .map(|entry| entry.unwrap().file_name().into_string().unwrap())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeSet::new(),
            Err(e) => panic!("cannot read data/tenants: {e}"),
        }
    }

    /// The tenant directories under `data/tenants/`.
    fn tenant_dirs(&self) -> BTreeSet<String> {
        let tenants = self.work.path().join("data").join("tenants");
        self.tenant_entries()
            .into_iter()
            .filter(|name| tenants.join(name).is_dir())
            .collect()
    }

    /// How many `tenant_…` schemas the PostgreSQL database holds.
    fn tenant_schemas(&self) -> usize {
        let db = self.postgres.as_ref().unwrap();
        db.query(
            "select count(*) from information_schema.schemata where schema_name like 'tenant\\_%'",
        )
        .parse()
        .unwrap()
    }

    /// Asserts that exactly `count` tenant stores exist, each whole, and nothing else: on
    /// SQLite one directory with a `tenant.db` each and no lock file; on PostgreSQL one
    /// `tenant_…` schema each (and nothing under `data/tenants/`).
    fn assert_stores(&self, count: usize) {
        let entries = self.tenant_entries();
        match &self.postgres {
            None => {
                let dirs = self.tenant_dirs();
                assert_eq!(dirs, entries, "only tenant directories in data/tenants");
                assert_eq!(dirs.len(), count, "tenant directories: {dirs:?}");
                for dir in &dirs {
                    let file = self
                        .work
                        .path()
                        .join("data/tenants")
                        .join(dir)
                        .join("tenant.db");
                    assert!(file.is_file(), "{} missing", file.display());
                }
            }
            Some(_) => {
                assert!(entries.is_empty(), "{entries:?}");
                assert_eq!(self.tenant_schemas(), count);
            }
        }
    }

    /// Adds `domain` and returns the name of the tenant directory it created (SQLite).
    fn add_tracked(&self, domain: &str, brand: &str) -> String {
        let before = self.tenant_dirs();
        self.add(domain, brand).expect(0);
        let created: Vec<String> = self.tenant_dirs().difference(&before).cloned().collect();
        assert_eq!(created.len(), 1, "{domain} created {created:?}");
        created[0].clone()
    }
}

/// The base address `domain add` prints for `domain` with the default listeners.
fn default_base(domain: &str, development: bool) -> String {
    if development && (domain == "localhost" || domain.ends_with(".localhost")) {
        format!("http://{domain}:8080")
    } else {
        format!("https://{domain}:8443")
    }
}

/// The one `…/invite/TOKEN` line of `stdout`, split into base and token.
fn invitation_link(stdout: &str) -> (String, String) {
    let links: Vec<&str> = stdout
        .lines()
        .filter(|line| line.contains("/invite/"))
        .collect();
    assert_eq!(links.len(), 1, "one link expected in {stdout:?}");
    let link = links[0];
    assert_eq!(link, link.trim(), "the link is alone on its line");
    let (base, token) = link.rsplit_once("/invite/").unwrap();
    assert_eq!(token.len(), 43, "token {token:?}");
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
        "token {token:?} is not URL-safe base64"
    );
    (base.to_owned(), token.to_owned())
}

/// Asserts that `table` is aligned under `header`: every column of every row starts where
/// the header's word does.
fn assert_aligned(table: &str, header: &[&str]) {
    let mut lines = table.lines();
    let first = lines.next().unwrap();
    assert_eq!(
        first.split_whitespace().collect::<Vec<_>>(),
        header,
        "{table}"
    );
    let starts: Vec<usize> = header.iter().map(|h| first.find(h).unwrap()).collect();
    for line in lines {
        let chars: Vec<char> = line.chars().collect();
        for &start in &starts {
            assert!(
                chars.get(start).is_some_and(|c| !c.is_whitespace())
                    && (start == 0 || chars[start - 1] == ' '),
                "column at {start} misaligned in {line:?}\n{table}"
            );
        }
    }
}

fn five_dev_domains_are_added_and_listed_and_more_are_refused(site: &Site) {
    let first_day = today();
    let domains = [
        ("localhost", "Local"),
        ("a.localhost", "Alpha"),
        ("b.localhost", "Beta"),
        ("c.test", "Gamma"),
        ("d.test", "Delta"),
    ];
    for (domain, brand) in &domains[..4] {
        let ran = site.add(domain, brand).expect(0);
        assert_eq!(
            ran.stdout,
            format!(
                "added {domain} (brand '{brand}'), served at {}\n",
                default_base(domain, true)
            )
        );
    }
    // There is room for a fifth, but not for a real name in development mode.
    let ran = site.add("projects.example.com", "Acme").expect(1);
    assert!(ran.stdout.is_empty(), "{}", ran.stdout);
    assert!(
        ran.stderr.contains("projects.example.com") && ran.stderr.contains("development mode"),
        "{}",
        ran.stderr
    );
    let (domain, brand) = domains[4];
    site.add(domain, brand).expect(0);

    let ran = site.add("e.localhost", "Epsilon").expect(1);
    assert!(
        ran.stderr
            .contains("development mode (no licence) allows 5 domains"),
        "{}",
        ran.stderr
    );
    let ran = site.add("a.localhost", "Again").expect(1);
    assert!(ran.stderr.contains("already exists"), "{}", ran.stderr);

    let rows = site.list();
    let last_day = today();
    assert_eq!(rows.len(), 5, "{rows:?}");
    for (domain, brand) in domains {
        let row = rows
            .iter()
            .find(|row| row["domain"] == domain)
            .unwrap_or_else(|| panic!("{domain} not in {rows:?}"));
        assert_eq!(row["brand"], brand);
        assert_eq!(row["state"], "active");
        assert_eq!(row["reason"], Value::Null);
        assert_eq!(row["users"], 0);
        let created = row["created"].as_str().unwrap();
        assert!(
            created == first_day.to_string() || created == last_day.to_string(),
            "{created}"
        );
    }
    let table = site.run(&["domain", "list"]).expect(0).stdout;
    assert_eq!(table.lines().count(), 6, "{table}");
    assert_aligned(&table, &["DOMAIN", "BRAND", "STATE", "CREATED", "USERS"]);
    for (domain, brand) in domains {
        let line = table
            .lines()
            .find(|line| line.split_whitespace().next() == Some(domain))
            .unwrap_or_else(|| panic!("{domain} not in\n{table}"));
        let cells: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(cells[1..3], [brand, "active"], "{line}");
        assert_eq!(cells[4], "0", "{line}");
    }
    site.assert_stores(5);
}

#[test]
fn five_localhost_domains_are_added_and_listed_and_a_sixth_or_a_real_domain_is_refused_without_a_licence()
 {
    five_dev_domains_are_added_and_listed_and_more_are_refused(&Site::sqlite());
}

#[test]
fn five_localhost_domains_are_added_and_listed_and_a_sixth_or_a_real_domain_is_refused_on_postgresql()
 {
    let Some(site) = Site::postgres() else {
        return;
    };
    five_dev_domains_are_added_and_listed_and_more_are_refused(&site);
}

#[test]
fn a_multi_licence_accepts_five_real_domains_and_refuses_a_sixth_with_the_plan_named() {
    let site = Site::sqlite();
    site.work.write("data/licence.txt", &multi_licence());
    let domains = [
        "projects.acme.com",
        "portal.beta.example",
        "work.gamma.io",
        "tasks.delta.co.uk",
        "a.localhost",
    ];
    for (n, domain) in domains.iter().enumerate() {
        let ran = site.add(domain, &format!("Brand {n}")).expect(0);
        assert_eq!(
            ran.stdout,
            format!(
                "added {domain} (brand 'Brand {n}'), served at {}\n",
                default_base(domain, false)
            )
        );
    }
    let ran = site.add("sixth.example.com", "Sixth").expect(1);
    assert!(
        ran.stderr.contains("plan 'multi' allows 5"),
        "{}",
        ran.stderr
    );
    let rows = site.list();
    assert_eq!(rows.len(), 5);
    assert!(rows.iter().all(|row| row["state"] == "active"), "{rows:?}");
    assert_eq!(
        site.listed_domains(),
        domains.iter().map(|d| (*d).to_owned()).collect()
    );
    site.assert_stores(5);
}

#[test]
fn a_single_licence_refuses_a_second_domain_and_an_expired_one_refuses_every_addition() {
    let site = Site::sqlite();
    let file = site
        .work
        .write("single.lic", &licence(Plan::Single, today(), None));
    site.command()
        .args(["licence", "install"])
        .arg(&file)
        .assert()
        .code(0);
    site.add("projects.acme.com", "Acme").expect(0);
    let ran = site.add("portal.acme.com", "Acme Portal").expect(1);
    assert!(
        ran.stderr.contains("plan 'single' allows 1"),
        "{}",
        ran.stderr
    );
    assert_eq!(
        site.listed_domains(),
        BTreeSet::from(["projects.acme.com".to_owned()])
    );
    site.assert_stores(1);

    // Once the licence has expired, brands are read-only: listed, but nothing is added.
    site.work.write(
        "data/licence.txt",
        &licence(
            Plan::Multi,
            today() - time::Duration::days(500),
            Some(today() - time::Duration::days(30)),
        ),
    );
    let ran = site.add("portal.acme.com", "Acme Portal").expect(1);
    assert!(ran.stderr.contains("expired"), "{}", ran.stderr);
    let ran = site
        .run(&[
            "user",
            "add",
            "--domain",
            "projects.acme.com",
            "--email",
            "ann@acme.example",
            "--name",
            "Ann",
            "--role",
            "staff",
        ])
        .expect(1);
    assert!(ran.stderr.contains("expired"), "{}", ran.stderr);
    assert!(!ran.stdout.contains("/invite/"), "{}", ran.stdout);
    let rows = site.list();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["domain"], "projects.acme.com");
    assert_eq!(rows[0]["users"], 0);
    site.assert_stores(1);
}

#[test]
fn malformed_domain_names_exit_2_and_change_nothing() {
    let site = Site::sqlite();
    site.add("keep.localhost", "Keep").expect(0);
    for name in [
        "bad..name",
        "*.acme.com",
        "1.2.3.4",
        "[::1]",
        "acme.localhost:8080",
        "bad-.localhost",
        "bad_name.localhost",
        "",
        "intranet",
    ] {
        let ran = site.add(name, "Bad").expect(2);
        assert!(ran.stdout.is_empty(), "{name}: {}", ran.stdout);
        assert_eq!(ran.stderr.lines().count(), 1, "{name}: {}", ran.stderr);
    }
    // A well-formed name with a malformed brand or admin address is malformed input too.
    site.add("x.localhost", "").expect(2);
    site.run(&[
        "domain",
        "add",
        "x.localhost",
        "--brand",
        "X",
        "--admin-email",
        "not-an-address",
    ])
    .expect(2);
    site.run(&["domain", "suspend", "bad..name"]).expect(2);
    site.run(&["domain", "activate", "*.acme.com"]).expect(2);
    site.run(&["domain", "remove", "1.2.3.4"]).expect(2);
    assert_eq!(
        site.listed_domains(),
        BTreeSet::from(["keep.localhost".to_owned()])
    );
    site.assert_stores(1);
}

/// A `domain add` stopped by `TS_FAULT_PAUSE_AT`; killed when dropped.
struct Paused {
    child: Child,
}

impl Paused {
    fn start(site: &Site, domain: &str, point: &str) -> Self {
        let mut child = site
            .std_command()
            .args(["domain", "add", domain, "--brand", "Doomed"])
            .env("TS_FAULT_PAUSE_AT", point)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut paused = Paused { child };
        let mut seen = Vec::new();
        loop {
            match lines.recv_timeout(Duration::from_secs(60)) {
                Ok(line) if line.contains(&format!("paused at {point}")) => break,
                Ok(line) => seen.push(line),
                Err(_) => panic!(
                    "no 'paused at {point}' within 60 s; stderr {seen:?}, status {:?}",
                    paused.child.try_wait()
                ),
            }
        }
        paused
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(status.signal(), Some(9), "{status:?}");
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn a_killed_add_leaves_no_trace(site: &Site) {
    site.add("keep.localhost", "Keep").expect(0);
    let mut expected = BTreeSet::from(["keep.localhost".to_owned()]);
    for point in ["tenant_pending", "tenant_store_created"] {
        let domain = format!("{}.localhost", point.replace('_', "-"));
        let entries_before = site.tenant_entries();
        let paused = Paused::start(site, &domain, point);

        // While its creator lives, the half-made brand is neither listed nor swept away.
        assert_eq!(site.listed_domains(), expected);
        match &site.postgres {
            None => {
                let new: BTreeSet<String> = site
                    .tenant_entries()
                    .difference(&entries_before)
                    .cloned()
                    .collect();
                let lock = new.iter().find(|name| name.ends_with(".creating"));
                assert!(lock.is_some(), "no lock file at {point}: {new:?}");
                let made_store = new.iter().any(|name| !name.ends_with(".creating"));
                assert_eq!(made_store, point == "tenant_store_created", "{new:?}");
            }
            Some(db) => {
                let rows = db.query(&format!(
                    "select state from platform.tenants where domain = '{domain}'"
                ));
                assert_eq!(rows, "pending", "at {point}");
                let stores = expected.len() + usize::from(point == "tenant_store_created");
                assert_eq!(site.tenant_schemas(), stores, "at {point}");
            }
        }

        paused.kill();
        assert_eq!(site.listed_domains(), expected, "after a kill at {point}");
        assert_eq!(
            site.tenant_entries(),
            entries_before,
            "leftovers in data/tenants after a kill at {point}"
        );
        site.assert_stores(expected.len());
        if let Some(db) = &site.postgres {
            let rows = db.query(&format!(
                "select count(*) from platform.tenants where domain = '{domain}'"
            ));
            assert_eq!(rows, "0", "a row is left after a kill at {point}");
        }

        // The name is free again.
        let ran = site.add(&domain, "Reborn").expect(0);
        assert!(
            ran.stdout.starts_with(&format!("added {domain}")),
            "{ran:?}"
        );
        expected.insert(domain.clone());
        assert_eq!(site.listed_domains(), expected);
        assert_eq!(site.state_of(&domain), "active");
        site.assert_stores(expected.len());
    }
}

#[test]
fn a_domain_add_killed_midway_leaves_no_trace_once_the_next_command_runs() {
    a_killed_add_leaves_no_trace(&Site::sqlite());
}

#[test]
fn a_domain_add_killed_midway_leaves_no_trace_once_the_next_command_runs_on_postgresql() {
    let Some(site) = Site::postgres() else {
        return;
    };
    a_killed_add_leaves_no_trace(&site);
}

#[test]
fn a_domain_add_in_progress_holds_its_place_and_its_name_until_its_process_dies() {
    let site = Site::sqlite();
    for name in ["a", "b", "c", "d"] {
        site.add(&format!("{name}.localhost"), name).expect(0);
    }
    let paused = Paused::start(&site, "e.localhost", "tenant_pending");
    let ran = site.add("f.localhost", "F").expect(1);
    assert!(ran.stderr.contains("allows 5"), "{}", ran.stderr);
    let ran = site.add("e.localhost", "E").expect(1);
    assert!(ran.stderr.contains("already exists"), "{}", ran.stderr);
    // A brand being created is not one the operator can act on yet.
    site.run(&["domain", "suspend", "e.localhost"]).expect(1);
    assert_eq!(site.list().len(), 4);

    paused.kill();
    site.add("f.localhost", "F").expect(0);
    site.add("e.localhost", "E").expect(1);
    let listed = site.listed_domains();
    assert_eq!(listed.len(), 5, "{listed:?}");
    assert!(listed.contains("f.localhost") && !listed.contains("e.localhost"));
    site.assert_stores(5);
}

#[test]
fn admin_email_and_user_add_print_invitation_links_in_the_product_form() {
    let site = Site::sqlite();
    let ran = site
        .run(&[
            "domain",
            "add",
            "a.localhost",
            "--brand",
            "Alpha",
            "--admin-email",
            "admin@alpha.example",
        ])
        .expect(0);
    assert!(
        ran.stdout
            .starts_with("added a.localhost (brand 'Alpha'), served at http://a.localhost:8080\n"),
        "{}",
        ran.stdout
    );
    let (base, admin_token) = invitation_link(&ran.stdout);
    assert_eq!(base, "http://a.localhost:8080");

    let ran = site
        .run(&[
            "user",
            "add",
            "--domain",
            "a.localhost",
            "--email",
            "ann@example.com",
            "--name",
            "Ann",
            "--role",
            "staff",
        ])
        .expect(0);
    let (base, ann_token) = invitation_link(&ran.stdout);
    assert_eq!(base, "http://a.localhost:8080");
    assert_ne!(ann_token, admin_token);

    // The same address in other letters is the same user in this brand...
    let ran = site
        .run(&[
            "user",
            "add",
            "--domain",
            "a.localhost",
            "--email",
            "ANN@Example.COM",
            "--name",
            "Ann Again",
            "--role",
            "admin",
        ])
        .expect(1);
    assert!(ran.stderr.contains("already exists"), "{}", ran.stderr);
    assert!(!ran.stdout.contains("/invite/"), "{}", ran.stdout);
    // ...and a different user in another brand.
    site.add("b.localhost", "Beta").expect(0);
    let ran = site
        .run(&[
            "user",
            "add",
            "--domain",
            "b.localhost",
            "--email",
            "ann@example.com",
            "--name",
            "Ann",
            "--role",
            "admin",
        ])
        .expect(0);
    assert_eq!(invitation_link(&ran.stdout).0, "http://b.localhost:8080");
    // No such brand.
    site.run(&[
        "user",
        "add",
        "--domain",
        "c.localhost",
        "--email",
        "ann@example.com",
        "--name",
        "Ann",
        "--role",
        "staff",
    ])
    .expect(1);

    let rows = site.list();
    let users = |domain: &str| {
        rows.iter()
            .find(|row| row["domain"] == domain)
            .map(|row| row["users"].clone())
    };
    assert_eq!(users("a.localhost"), Some(Value::from(2)), "{rows:?}");
    assert_eq!(users("b.localhost"), Some(Value::from(1)), "{rows:?}");

    // Licensed, behind a load balancer that serves HTTPS on 443: https and no port.
    let licensed = Site::sqlite();
    licensed.work.write("data/licence.txt", &multi_licence());
    let env = [("TASKSESSION_PUBLIC_HTTPS_PORT", "443")];
    let ran = licensed
        .run_with(
            &env,
            &[
                "domain",
                "add",
                "projects.example.com",
                "--brand",
                "Acme",
                "--admin-email",
                "boss@acme.example",
            ],
        )
        .expect(0);
    assert!(
        ran.stdout.starts_with(
            "added projects.example.com (brand 'Acme'), served at https://projects.example.com\n"
        ),
        "{}",
        ran.stdout
    );
    assert_eq!(
        invitation_link(&ran.stdout).0,
        "https://projects.example.com"
    );
    let ran = licensed
        .run_with(
            &env,
            &[
                "user",
                "add",
                "--domain",
                "projects.example.com",
                "--email",
                "sam@acme.example",
                "--name",
                "Sam",
                "--role",
                "staff",
            ],
        )
        .expect(0);
    assert_eq!(
        invitation_link(&ran.stdout).0,
        "https://projects.example.com"
    );
    // Without it the HTTPS listener's port is in the link, and a licensed platform links
    // even a localhost name over HTTPS.
    licensed.add("l.localhost", "Local").expect(0);
    let ran = licensed
        .run(&[
            "user",
            "add",
            "--domain",
            "l.localhost",
            "--email",
            "sam@acme.example",
            "--name",
            "Sam",
            "--role",
            "staff",
        ])
        .expect(0);
    assert_eq!(invitation_link(&ran.stdout).0, "https://l.localhost:8443");
    assert_eq!(
        licensed.row("projects.example.com").unwrap()["users"],
        Value::from(2)
    );
}

#[test]
fn suspend_activate_remove_and_purge_follow_the_licence() {
    let site = Site::sqlite();
    let mut dirs = std::collections::BTreeMap::new();
    for name in ["a", "b", "c", "d", "e"] {
        let domain = format!("{name}.localhost");
        dirs.insert(name, site.add_tracked(&domain, &name.to_uppercase()));
    }
    site.add("f.localhost", "F").expect(1);

    // Suspending frees a place.
    let ran = site.run(&["domain", "suspend", "b.localhost"]).expect(0);
    assert!(ran.stdout.contains("suspended"), "{}", ran.stdout);
    assert_eq!(site.state_of("b.localhost"), "suspended");
    dirs.insert("f", site.add_tracked("f.localhost", "F"));
    assert_eq!(site.state_of("f.localhost"), "active");

    // ...which the suspended brand cannot take back while five are active.
    let ran = site.run(&["domain", "activate", "b.localhost"]).expect(1);
    assert!(ran.stderr.contains("allows 5"), "{}", ran.stderr);
    assert_eq!(site.state_of("b.localhost"), "suspended");

    // Removing keeps the data and frees a place too.
    let ran = site.run(&["domain", "remove", "c.localhost"]).expect(0);
    assert!(ran.stdout.contains("removed"), "{}", ran.stdout);
    assert_eq!(site.state_of("c.localhost"), "removed");
    assert!(site.tenant_dirs().contains(&dirs["c"]));
    site.run(&["domain", "activate", "b.localhost"]).expect(0);
    assert_eq!(site.state_of("b.localhost"), "active");

    // Purging needs the name repeated, exactly.
    site.run(&["domain", "remove", "c.localhost", "--purge"])
        .expect(2);
    site.run(&[
        "domain",
        "remove",
        "c.localhost",
        "--purge",
        "--confirm",
        "d.localhost",
    ])
    .expect(2);
    site.run(&[
        "domain",
        "remove",
        "c.localhost",
        "--confirm",
        "c.localhost",
    ])
    .expect(2);
    assert_eq!(site.state_of("c.localhost"), "removed");
    assert!(site.tenant_dirs().contains(&dirs["c"]));
    site.run(&[
        "domain",
        "remove",
        "c.localhost",
        "--purge",
        "--confirm",
        "c.localhost",
    ])
    .expect(0);
    assert!(site.row("c.localhost").is_none());
    assert!(!site.tenant_dirs().contains(&dirs["c"]));
    site.assert_stores(5);

    // Unknown names are refused, not malformed.
    site.run(&["domain", "suspend", "z.localhost"]).expect(1);
    site.run(&["domain", "activate", "z.localhost"]).expect(1);
    let states: Vec<(String, String)> = site
        .list()
        .iter()
        .map(|row| {
            (
                row["domain"].as_str().unwrap().to_owned(),
                row["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(states.len(), 5, "{states:?}");
    assert!(
        states.iter().all(|(_, state)| state == "active"),
        "{states:?}"
    );
}

#[test]
fn migrate_exits_0_when_everything_is_up_to_date() {
    let site = Site::sqlite();
    let ran = site.run(&["migrate"]).expect(0);
    assert!(
        ran.stdout.contains("0 brand(s) up to date"),
        "{}",
        ran.stdout
    );
    site.add("a.localhost", "A").expect(0);
    site.add("b.test", "B").expect(0);
    site.run(&["domain", "suspend", "b.test"]).expect(0);
    for _ in 0..2 {
        let ran = site.run(&["migrate"]).expect(0);
        for line in [
            "platform store is up to date",
            "a.localhost: up to date",
            "b.test: up to date",
            "2 brand(s) up to date",
        ] {
            assert!(ran.stdout.contains(line), "{line:?} not in {}", ran.stdout);
        }
    }
    assert_eq!(site.state_of("a.localhost"), "active");
    assert_eq!(site.state_of("b.test"), "suspended");
    site.assert_stores(2);
}

/// Several commands at once on one SQLite platform, while `serve` runs on it and answers
/// requests: each succeeds, none ends with a signal, no brand is lost, and the server keeps
/// serving. (A
/// check that opened and closed a store's files dropped SQLite's locks on them, so another
/// process rebuilt the wal-index under a live mapping: SIGBUS, or "locking protocol".)
#[test]
fn commands_run_at_once_beside_a_serving_server_all_succeed_and_nothing_crashes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let work = Workdir::new();
    work.command()
        .args(["domain", "add", "home.test", "--brand", "Home"])
        .assert()
        .code(0);
    let mut server = support::Server::start(work.std_command());
    let https = server.addresses().https;
    let page = move || {
        support::https_exchange(
            https,
            "home.test",
            &support::get_request("home.test", "/sign-in"),
        )
        .status
    };
    let stop = Arc::new(AtomicBool::new(false));
    let poller = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut answers = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                answers.push(page());
            }
            answers
        })
    };
    // Four operators at once, each adding a brand and suspending it (to leave room for the
    // next), six times over: their commands start and end at every moment of one another's.
    let run = |args: &[&str]| {
        let out = work
            .std_command()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {:?} (signal {:?}): {}",
            out.status.code(),
            out.status.signal(),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::thread::scope(|scope| {
        for operator in 0..4 {
            let run = &run;
            scope.spawn(move || {
                for round in 0..6 {
                    let domain = format!("r{operator}-{round}.test");
                    run(&["domain", "add", &domain, "--brand", "Round"]);
                    run(&["domain", "suspend", &domain]);
                }
            });
        }
    });
    stop.store(true, Ordering::Relaxed);
    let answers = poller.join().unwrap();
    assert!(!answers.is_empty());
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    assert!(server.child.try_wait().unwrap().is_none(), "serve ended");
    assert_eq!(page(), 200);
    let list = work
        .command()
        .args(["domain", "list", "--json"])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&list.stdout)
        .matches("\"domain\"")
        .count();
    // None was lost: a command starting while another's brand was being made once took it
    // for an interrupted creation and removed it.
    assert_eq!(listed, 25, "home and twenty-four more");
}

/// `domain list` over more brands than the process may hold files open for (three a SQLite
/// store): each store is closed again after its users are counted, so none is listed as
/// unavailable for want of a file descriptor.
#[test]
fn domain_list_over_many_brands_keeps_one_store_open_at_a_time() {
    let work = Workdir::new();
    for i in 0..24 {
        let domain = format!("many{i}.test");
        work.command()
            .args(["domain", "add", &domain, "--brand", "Many"])
            .assert()
            .code(0);
        work.command()
            .args(["domain", "suspend", &domain])
            .assert()
            .code(0);
    }
    // 24 stores at three descriptors each would need 72, beside the platform's own.
    let out = work
        .program("sh")
        .args(["-c", "ulimit -n 40 && exec \"$0\" domain list --json"])
        .arg(support::binary())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rows = listed.as_array().unwrap();
    assert_eq!(rows.len(), 24);
    for row in rows {
        assert_eq!(row["state"], "suspended", "{row}");
        assert_eq!(row["users"], 0, "{row}");
    }
}
