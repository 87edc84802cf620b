//! `tasksession domain …` and `tasksession user add`: the operator's commands over brands.

use serde::Serialize;
use tenant_core::accounts::credentials::LinkKind;
use tenant_core::accounts::invitations;
use tenant_core::accounts::users::{self, NewUser};
use tenant_core::platform::acme::ChallengeType;
use tenant_core::{Email, Hostname, Platform, Serving, Standing, TenantState};

use crate::config::Config;
use crate::outcome::{Failure, Outcome};
use crate::platform::{self, Opened, failure, public_base};

pub(crate) fn parse_domain(text: &str) -> Result<Hostname, Failure> {
    Hostname::parse(text).map_err(|e| Failure::BadInput(e.to_string()))
}

/// Runs `work` with the platform open, closing it afterwards.
pub(crate) fn with_platform<T>(
    config: &Config,
    work: impl AsyncFnOnce(&Platform, &Standing) -> Result<T, Failure>,
) -> Result<T, Failure> {
    platform::runtime()?.block_on(async {
        let Opened { platform, standing } = platform::open(config).await?;
        let result = work(&platform, &standing).await;
        platform.close().await;
        result
    })
}

/// `domain add DOMAIN --brand NAME [--admin-email EMAIL] [--acme-challenge TYPE]`.
pub fn add(
    config: &Config,
    domain: &str,
    brand: &str,
    admin_email: Option<&str>,
    acme_challenge: Option<&str>,
) -> Outcome {
    let domain = parse_domain(domain)?;
    let challenge = acme_challenge
        .map(|text| ChallengeType::parse(text).map_err(|e| Failure::BadInput(e.to_string())))
        .transpose()?;
    let admin = admin_email
        .map(|email| Email::parse(email).map_err(|e| Failure::BadInput(e.to_string())))
        .transpose()?;
    with_platform(config, async |platform, standing| {
        let tenant = platform
            .add_domain(&domain, brand, standing)
            .await
            .map_err(failure)?;
        if challenge.is_some() {
            platform
                .set_challenge_type(&domain, challenge)
                .await
                .map_err(failure)?;
        }
        let base = public_base(config, &domain, standing);
        println!(
            "added {domain} (brand '{}'), served at {base}",
            tenant.brand
        );
        if let Some(email) = admin {
            let store = platform.tenant_store(&tenant).await.map_err(failure)?;
            let new = NewUser {
                email,
                name: "Administrator".to_owned(),
                role: "admin".to_owned(),
                company_id: None,
                switches: None,
                access_expires_at: None,
            };
            let (user, invitation) = invitations::invite_user(&store, &new)
                .await
                .map_err(failure)?;
            println!(
                "admin {} invited; send them this one-time link (valid until {}):",
                user.email,
                invitation.expires_at.date()
            );
            println!("{}", invitation.token.link(&base, LinkKind::Invitation));
        }
        Ok(())
    })
}

#[derive(Serialize)]
struct DomainRow {
    domain: String,
    brand: String,
    state: &'static str,
    reason: Option<String>,
    created: String,
    users: Option<i64>,
}

/// `domain list [--json]`.
pub fn list(config: &Config, json: bool) -> Outcome {
    let rows = with_platform(config, async |platform, standing| {
        let mut rows = Vec::new();
        for (tenant, serving) in platform.serving(standing).await.map_err(failure)? {
            if serving == Serving::Pending {
                continue;
            }
            let (users, fault) = match platform.tenant_store(&tenant).await {
                Ok(store) => match users::count_users(&store).await {
                    Ok(count) => (Some(count), None),
                    Err(error) => (None, Some(error.to_string())),
                },
                Err(error) => (None, Some(error.to_string())),
            };
            // One store open at a time: thousands of brands would otherwise run out of
            // file descriptors (three a SQLite store) and list the last ones unavailable.
            platform.release(&tenant).await;
            let reason = match (&serving, fault) {
                (Serving::SuspendedByLicence(reason), _) => Some(reason.clone()),
                (_, Some(fault)) => Some(fault),
                _ => None,
            };
            let state = match (&serving, &reason) {
                (Serving::Active, Some(_)) => "unavailable",
                _ => serving.label(),
            };
            rows.push(DomainRow {
                domain: tenant.domain.to_string(),
                brand: tenant.brand,
                state,
                reason,
                created: tenant.created_at.date().to_string(),
                users,
            });
        }
        Ok(rows)
    })?;
    print_listing(
        &rows,
        json,
        &["DOMAIN", "BRAND", "STATE", "CREATED", "USERS"],
        |row| {
            [
                row.domain.clone(),
                row.brand.clone(),
                row.state.to_owned(),
                row.created.clone(),
                row.users.map_or_else(|| "?".to_owned(), |n| n.to_string()),
            ]
        },
    )?;
    if json {
        return Ok(());
    }
    for row in &rows {
        match (&row.reason, row.state) {
            (Some(reason), "unavailable") => println!("not served: {}: {reason}", row.domain),
            (Some(reason), _) => println!("not licensed: {reason}"),
            (None, _) => {}
        }
    }
    Ok(())
}

/// Prints `rows` as JSON, or as an aligned table with `header` and each row's `cells`
/// (or a hint when there are no domains yet).
pub(crate) fn print_listing<T: Serialize, const N: usize>(
    rows: &[T],
    json: bool,
    header: &[&str; N],
    cells: impl Fn(&T) -> [String; N],
) -> Outcome {
    if json {
        let text = serde_json::to_string_pretty(rows)
            .map_err(|e| Failure::Refused(format!("cannot write JSON: {e}")))?;
        println!("{text}");
        return Ok(());
    }
    if rows.is_empty() {
        println!("no domains yet; add one with 'tasksession domain add DOMAIN --brand NAME'");
        return Ok(());
    }
    let table: Vec<[String; N]> = rows.iter().map(cells).collect();
    print!("{}", aligned(header, &table));
    Ok(())
}

/// An aligned text table.
fn aligned<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (index, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if index + 1 == N {
                text.push_str(cell);
            } else {
                text.push_str(&format!("{cell:<width$}  "));
            }
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn change_state(config: &Config, domain: &str, state: TenantState, done: &str) -> Outcome {
    let domain = parse_domain(domain)?;
    with_platform(config, async |platform, standing| {
        platform
            .set_state(&domain, state, standing)
            .await
            .map_err(failure)?;
        println!("{domain} {done}");
        Ok(())
    })
}

/// `domain suspend DOMAIN`.
pub fn suspend(config: &Config, domain: &str) -> Outcome {
    change_state(
        config,
        domain,
        TenantState::Suspended,
        "suspended; its data is kept",
    )
}

/// `domain activate DOMAIN`.
pub fn activate(config: &Config, domain: &str) -> Outcome {
    change_state(config, domain, TenantState::Active, "is active")
}

/// `domain remove DOMAIN [--purge --confirm DOMAIN]`.
pub fn remove(config: &Config, domain: &str, purge: bool, confirm: Option<&str>) -> Outcome {
    let parsed = parse_domain(domain)?;
    if !purge {
        return change_state(
            config,
            domain,
            TenantState::Removed,
            "removed: no longer served, data kept (purge with --purge --confirm DOMAIN)",
        );
    }
    let confirmed = confirm.map(Hostname::parse).transpose().ok().flatten();
    if confirmed.as_ref() != Some(&parsed) {
        return Err(Failure::BadInput(format!(
            "--purge deletes every record of {parsed}; confirm with --confirm {parsed}"
        )));
    }
    with_platform(config, async |platform, standing| {
        platform
            .set_state(&parsed, TenantState::Removed, standing)
            .await
            .map_err(failure)?;
        platform.purge(&parsed).await.map_err(failure)?;
        println!("{parsed} purged: its store and every record are deleted");
        Ok(())
    })
}

/// `user add --domain DOMAIN --email EMAIL --name NAME --role ROLE [--company ID]`.
pub fn add_user(
    config: &Config,
    domain: &str,
    email: &str,
    name: &str,
    role: &str,
    company: Option<&str>,
) -> Outcome {
    let domain = parse_domain(domain)?;
    let new = NewUser {
        email: Email::parse(email).map_err(|e| Failure::BadInput(e.to_string()))?,
        name: name.to_owned(),
        role: role.to_owned(),
        company_id: company.map(str::to_owned),
        switches: None,
        access_expires_at: None,
    };
    with_platform(config, async |platform, standing| {
        let tenant = platform
            .tenant_by_domain(&domain)
            .await
            .map_err(failure)?
            .ok_or_else(|| {
                Failure::Refused(format!(
                    "no domain {domain}; 'tasksession domain list' shows the domains there are"
                ))
            })?;
        if standing.read_only() {
            return Err(Failure::Refused(
                "the licence has expired and every brand is read-only; install a renewed licence to add users".to_owned(),
            ));
        }
        let store = platform.tenant_store(&tenant).await.map_err(failure)?;
        let (user, invitation) = invitations::invite_user(&store, &new)
            .await
            .map_err(failure)?;
        let serving = platform.serving(standing).await.map_err(failure)?;
        if let Some((_, state)) = serving
            .iter()
            .find(|(t, s)| t.id == tenant.id && *s != Serving::Active)
        {
            eprintln!(
                "note: {domain} is {} right now; the link works once the domain is served again",
                state.label()
            );
        }
        println!(
            "{} ({}) invited to {domain} as {}; send them this one-time link (valid until {}):",
            user.name,
            user.email,
            user.role_id,
            invitation.expires_at.date()
        );
        println!(
            "{}",
            invitation.token.link(
                &public_base(config, &domain, standing),
                LinkKind::Invitation
            )
        );
        Ok(())
    })
}
