//! The access review: every user of the brand with their role, effective permissions,
//! projects, two-factor state and last sign-in, and flags for what an admin should look at
//! (admins, accounts unused for 90 days, client contacts whose projects are all archived,
//! invitations that ran out unaccepted, access ending within 14 days); and the warning
//! mailed to admins a week before a user's access ends.

use time::{Duration, OffsetDateTime};

use crate::access::Permitted;
use crate::access::UserKind;
use crate::access::permissions::{Permission, PermissionSet, need};
use crate::accounts::roles;
use crate::accounts::users::{USER_COLUMNS, User, UserRow, UserStatus};
use crate::brand::outbox::{self, MailKind};
use crate::error::Result;
use crate::paging::Page;
use crate::store::TenantStore;
use crate::store::{now, on_tx};
use crate::work::projects::{self, ProjectRef, ProjectStatus};

/// An account not used for this long is flagged.
pub const UNUSED_AFTER: Duration = Duration::days(90);
/// Access ending within this is flagged.
pub const EXPIRING_WITHIN: Duration = Duration::days(14);
/// Admins are mailed this long before a user's access ends.
pub const WARN_BEFORE: Duration = Duration::days(7);

/// Something an admin should look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// Holds the admin role.
    Admin,
    /// Active, but not signed in for [`UNUSED_AFTER`] (or never, and older than that).
    Unused,
    /// A client contact (not deactivated) whose company's projects are all archived: their
    /// work here may be over.
    ProjectsAllArchived,
    /// Invited, and every invitation ran out unaccepted.
    InvitationExpired,
    /// Access ends within [`EXPIRING_WITHIN`].
    AccessExpiringSoon,
}

impl Flag {
    /// The word the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Admin => "admin",
            Flag::Unused => "unused_90_days",
            Flag::ProjectsAllArchived => "projects_all_archived",
            Flag::InvitationExpired => "invitation_expired",
            Flag::AccessExpiringSoon => "access_expiring_soon",
        }
    }
}

/// One user as the review shows them.
#[derive(Debug, Clone)]
pub struct Reviewed {
    /// The user.
    pub user: User,
    /// Their role's name.
    pub role_name: String,
    /// What they may do: the role's permissions, narrowed by a contact's switches.
    pub permissions: PermissionSet,
    /// The projects they reach as a member (directly or through a team) or, for a client
    /// contact, their company's.
    pub projects: Vec<ProjectRef>,
    /// Their role lets them see every project (`projects.view_all`), whatever `projects`
    /// lists.
    pub all_projects: bool,
    /// Two-factor sign-in is on.
    pub two_factor: bool,
    /// What to look at.
    pub flags: Vec<Flag>,
}

/// The flags of `user`; `open_invitation` is whether an unexpired one waits, `projects`
/// what they reach.
pub fn flags_of(
    user: &User,
    open_invitation: bool,
    projects: &[ProjectRef],
    now: OffsetDateTime,
) -> Vec<Flag> {
    let mut flags = Vec::new();
    if user.role_id == "admin" {
        flags.push(Flag::Admin);
    }
    if user.status == UserStatus::Active {
        let last_use = user.last_sign_in_at.unwrap_or(user.created_at);
        if now - last_use >= UNUSED_AFTER {
            flags.push(Flag::Unused);
        }
    }
    if user.kind == UserKind::Client
        && user.status != UserStatus::Deactivated
        && !projects.is_empty()
        && projects.iter().all(|p| p.status == ProjectStatus::Archived)
    {
        flags.push(Flag::ProjectsAllArchived);
    }
    if user.status == UserStatus::Invited && !open_invitation {
        flags.push(Flag::InvitationExpired);
    }
    if user.status != UserStatus::Deactivated
        && user
            .access_expires_at
            .is_some_and(|end| end > now && end - now <= EXPIRING_WITHIN)
    {
        flags.push(Flag::AccessExpiringSoon);
    }
    flags
}

#[derive(sqlx::FromRow)]
struct ReviewRow {
    #[sqlx(flatten)]
    user: UserRow,
    two_factor: bool,
    open_invitation: bool,
}

/// A page of the review, by user id (keyset, like the user list).
pub async fn access_review(
    store: &TenantStore,
    _permit: &Permitted<'_, need::UsersManage>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<Page<Reviewed>> {
    let limit = limit.clamp(1, 200);
    let at = now();
    let mut tx = store.read().await?;
    let rows: Vec<ReviewRow> = on_tx!(tx, |conn| {
        sqlx::query_as(&format!(
            "select {USER_COLUMNS},
                 exists(select 1 from totp_credentials t where t.user_id = users.user_id and t.confirmed_at is not null) as two_factor,
                 exists(select 1 from invitations i where i.user_id = users.user_id and i.accepted_at is null and i.expires_at > $2) as open_invitation
             from users where user_id > $1 order by user_id limit $3"
        ))
        .bind(cursor.unwrap_or(""))
        .bind(at)
        .bind(i64::from(limit) + 1)
        .fetch_all(conn)
        .await?
    });
    let more = rows.len() > limit as usize;
    let mut items = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.into_iter().take(limit as usize) {
        let user = User::try_from(row.user)?;
        let role = roles::find_role(&mut tx, &user.role_id).await?;
        let mut permissions = role
            .as_ref()
            .map_or(PermissionSet::EMPTY, |r| r.permissions);
        if let Some(switches) = user.switches {
            permissions = permissions.intersection(switches);
        }
        let reached =
            projects::projects_of(&mut tx, &user.id, user.kind, user.company_id.as_deref()).await?;
        items.push(Reviewed {
            flags: flags_of(&user, row.open_invitation, &reached, at),
            role_name: role.map_or_else(|| user.role_id.clone(), |r| r.name),
            all_projects: user.kind == UserKind::Staff
                && permissions.contains(Permission::ProjectsViewAll),
            projects: reached,
            permissions,
            two_factor: row.two_factor,
            user,
        });
    }
    let next_cursor = more
        .then(|| items.last().map(|r| r.user.id.clone()))
        .flatten();
    Ok(Page { items, next_cursor })
}

/// Mails every active admin about each active user whose access ends within
/// [`WARN_BEFORE`], once per end date (the background sweep). Returns how many users were
/// warned about.
pub async fn warn_expiring_access(store: &TenantStore) -> Result<usize> {
    let at = now();
    let mut tx = store.write().await?;
    // Replicas sweep at the same time; one at a time, each user is announced once.
    tx.serialize("users").await?;
    let ending: Vec<(String, String, String, OffsetDateTime)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select user_id, name, email, access_expires_at from users
             where status = 'active' and access_expires_at > $1 and access_expires_at <= $2
               and access_expiry_warned_at is null
             order by user_id",
        )
        .bind(at)
        .bind(at + WARN_BEFORE)
        .fetch_all(conn)
        .await?
    });
    if ending.is_empty() {
        return Ok(0);
    }
    let admins: Vec<(String, String)> = on_tx!(tx, |conn| {
        sqlx::query_as(
            "select name, email from users where role_id = 'admin' and status = 'active' order by user_id",
        )
        .fetch_all(conn)
        .await?
    });
    for (user_id, name, email, ends) in &ending {
        for (admin_name, admin_email) in &admins {
            outbox::enqueue(
                &mut tx,
                MailKind::AccessExpiring,
                admin_email,
                &serde_json::json!({
                    "name": admin_name,
                    "user_name": name,
                    "user_email": email,
                    "ends_at": ends.unix_timestamp(),
                }),
                at,
            )
            .await?;
        }
        on_tx!(tx, |conn| {
            sqlx::query("update users set access_expiry_warned_at = $2 where user_id = $1")
                .bind(user_id)
                .bind(at)
                .execute(conn)
                .await?;
        });
    }
    tx.commit().await?;
    Ok(ending.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::UserKind;

    fn user(status: UserStatus, role: &str, last: Option<i64>, ends: Option<i64>) -> User {
        let day = |d: i64| OffsetDateTime::UNIX_EPOCH + Duration::days(d);
        User {
            id: "u".to_owned(),
            email: "u@example.com".to_owned(),
            name: "U".to_owned(),
            kind: UserKind::Staff,
            role_id: role.to_owned(),
            company_id: None,
            status,
            switches: None,
            access_expires_at: ends.map(day),
            last_sign_in_at: last.map(day),
            created_at: day(0),
        }
    }

    #[test]
    fn flags_name_what_an_admin_should_look_at() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(200);
        assert_eq!(
            flags_of(
                &user(UserStatus::Active, "admin", Some(199), None),
                false,
                &[],
                now
            ),
            [Flag::Admin]
        );
        assert_eq!(
            flags_of(
                &user(UserStatus::Active, "staff", Some(100), None),
                false,
                &[],
                now
            ),
            [Flag::Unused]
        );
        assert_eq!(
            flags_of(
                &user(UserStatus::Active, "staff", None, None),
                false,
                &[],
                now
            ),
            [Flag::Unused],
            "never signed in since day 0"
        );
        assert_eq!(
            flags_of(
                &user(UserStatus::Invited, "staff", None, None),
                false,
                &[],
                now
            ),
            [Flag::InvitationExpired]
        );
        assert!(
            flags_of(
                &user(UserStatus::Invited, "staff", None, None),
                true,
                &[],
                now
            )
            .is_empty()
        );
        assert_eq!(
            flags_of(
                &user(UserStatus::Active, "staff", Some(199), Some(210)),
                false,
                &[],
                now
            ),
            [Flag::AccessExpiringSoon]
        );
        assert!(
            flags_of(
                &user(UserStatus::Active, "staff", Some(199), Some(230)),
                false,
                &[],
                now
            )
            .is_empty()
        );
        assert!(
            flags_of(
                &user(UserStatus::Deactivated, "staff", Some(10), Some(210)),
                false,
                &[],
                now
            )
            .is_empty()
        );
    }

    #[test]
    fn a_contact_whose_projects_are_all_archived_is_flagged() {
        let now = OffsetDateTime::UNIX_EPOCH + Duration::days(200);
        let project = |id: &str, status| ProjectRef {
            id: id.to_owned(),
            name: id.to_owned(),
            status,
        };
        let archived = [
            project("a", ProjectStatus::Archived),
            project("b", ProjectStatus::Archived),
        ];
        let mixed = [
            project("a", ProjectStatus::Archived),
            project("b", ProjectStatus::Active),
        ];
        let mut contact = user(UserStatus::Active, "client", Some(199), None);
        contact.kind = UserKind::Client;
        assert_eq!(
            flags_of(&contact, false, &archived, now),
            [Flag::ProjectsAllArchived]
        );
        assert!(flags_of(&contact, false, &mixed, now).is_empty());
        assert!(
            flags_of(&contact, false, &[], now).is_empty(),
            "a company without projects yet is being set up, not finished"
        );
        let staff = user(UserStatus::Active, "staff", Some(199), None);
        assert!(flags_of(&staff, false, &archived, now).is_empty());
        contact.status = UserStatus::Deactivated;
        assert!(flags_of(&contact, false, &archived, now).is_empty());
    }
}
