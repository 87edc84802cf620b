//! The one access policy. A [`Principal`] is who is acting: it can only be made by
//! authenticating a session or personal access token ([`crate::accounts::sessions`]). [`decide`] is a
//! pure function over (actor, permission, scope); [`permit`] wraps it into a
//! [`Permitted`] proof that services demand in their signatures, so a handler that skips
//! the policy does not compile.
//!
//! Scope comes before permission: something outside the actor's scope (another client
//! company's data) is "not found", something inside it that the role may not do is
//! "forbidden" (PRODUCT.md, "A tenant's surface").

pub mod access_review;
pub mod permissions;

use std::marker::PhantomData;

use crate::error::{Error, Result};
use permissions::{Permission, PermissionSet, Requirement};

/// Staff or client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserKind {
    /// A member of the agency team.
    Staff,
    /// A contact of a client company.
    Client,
}

impl UserKind {
    /// The word used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            UserKind::Staff => "staff",
            UserKind::Client => "client",
        }
    }

    /// Reads the API's word.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "staff" => Ok(UserKind::Staff),
            "client" => Ok(UserKind::Client),
            other => Err(Error::Invalid(format!("unknown user kind '{other}'"))),
        }
    }
}

/// How a principal proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A browser session (cookie).
    Session {
        /// The session's id.
        session_id: String,
    },
    /// A personal access token (`Authorization: Bearer`).
    Token {
        /// The token's id.
        token_id: String,
    },
    /// A reply by e-mail to a notification mail (its signed reply address and the
    /// sender's address stand for the user; it may only comment).
    Mail {
        /// The notification the mail answered.
        notification_id: String,
    },
}

/// A signed-in user of one tenant, with their effective permissions as of this request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub(crate) user_id: String,
    pub(crate) name: String,
    pub(crate) email: String,
    pub(crate) kind: UserKind,
    pub(crate) company_id: Option<String>,
    pub(crate) role_id: String,
    pub(crate) permissions: PermissionSet,
    pub(crate) credential: Credential,
    pub(crate) address: String,
    /// Two-factor sign-in is required for staff and this staff member has not set it up.
    pub(crate) totp_setup_required: bool,
}

impl Principal {
    /// The user's id.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Whether the brand requires two-factor sign-in of staff and this staff member has
    /// not set it up: until they do, they may only set it up (and see who they are).
    pub fn must_set_up_totp(&self) -> bool {
        self.totp_setup_required
    }

    /// Refuses what a staff member who must set up two-factor sign-in may not do yet:
    /// anything but seeing who they are, setting it up, and signing out. Self-service
    /// changes (tokens, password, sessions) call this; role permissions are refused by
    /// [`decide`] itself.
    pub fn require_totp_set_up(&self) -> Result<()> {
        if self.totp_setup_required {
            return Err(Error::Forbidden(
                "this workspace requires two-factor sign-in: set it up first".to_owned(),
            ));
        }
        Ok(())
    }

    /// The user's display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The user's e-mail address.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// Staff or client.
    pub fn kind(&self) -> UserKind {
        self.kind
    }

    /// The client company of a client user.
    pub fn company_id(&self) -> Option<&str> {
        self.company_id.as_deref()
    }

    /// The role's id.
    pub fn role_id(&self) -> &str {
        &self.role_id
    }

    /// Effective permissions: the role's, narrowed by a client contact's switches.
    pub fn permissions(&self) -> PermissionSet {
        self.permissions
    }

    /// How the principal signed in.
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The client address of the request.
    pub fn address(&self) -> &str {
        &self.address
    }
}

/// What an action concerns, as far as scope goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope<'a> {
    /// The brand as a whole (settings, users, roles, teams).
    Brand,
    /// Data of one client company.
    Company(&'a str),
}

/// The policy's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// In scope, but the role may not do it (403).
    Forbidden,
    /// Out of the actor's scope; answered as if it did not exist (404).
    NotFound,
}

/// The access policy: may `actor` use `permission` on something in `scope`?
pub fn decide(actor: &Principal, permission: Permission, scope: Scope<'_>) -> Decision {
    // Until a staff member who must set up two-factor sign-in has done so, no permission
    // of their role counts, whichever door (page, API) the request came through.
    if actor.totp_setup_required {
        return Decision::Forbidden;
    }
    if actor.kind == UserKind::Client {
        if let Scope::Company(company) = scope
            && actor.company_id.as_deref() != Some(company)
        {
            return Decision::NotFound;
        }
        if !permission.allowed_for_clients() {
            return Decision::Forbidden;
        }
    }
    if actor.permissions.contains(permission) {
        Decision::Allow
    } else {
        Decision::Forbidden
    }
}

/// Proof that the policy let `principal` use the permission `R` stands for.
#[derive(Debug)]
pub struct Permitted<'a, R: Requirement> {
    principal: &'a Principal,
    requirement: PhantomData<R>,
}

impl<R: Requirement> Permitted<'_, R> {
    /// Who was permitted.
    pub fn principal(&self) -> &Principal {
        self.principal
    }
}

/// Asks the policy; the proof on yes, [`Error::Forbidden`] or [`Error::NotFound`] on no.
pub fn permit<'a, R: Requirement>(
    principal: &'a Principal,
    scope: Scope<'_>,
) -> Result<Permitted<'a, R>> {
    permit_word(principal, R::PERMISSION, scope)?;
    Ok(Permitted {
        principal,
        requirement: PhantomData,
    })
}

/// [`permit`] for a permission known only at run time (the project grant's need), without
/// a proof.
pub(crate) fn permit_word(
    principal: &Principal,
    permission: Permission,
    scope: Scope<'_>,
) -> Result<()> {
    match decide(principal, permission, scope) {
        Decision::Allow => Ok(()),
        Decision::Forbidden => Err(Error::Forbidden(format!(
            "your role does not allow this ({permission} is needed)"
        ))),
        Decision::NotFound => Err(Error::NotFound("there is no such thing here".to_owned())),
    }
}

/// Who did something, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The user, or `None` for the operator (command line).
    pub user_id: Option<String>,
    /// A name to show.
    pub name: String,
    /// Where the request came from (`cli` for the command line).
    pub address: String,
}

impl Actor {
    /// The operator at the command line.
    pub fn operator() -> Self {
        Actor {
            user_id: None,
            name: "operator".to_owned(),
            address: "cli".to_owned(),
        }
    }

    /// The server itself, for background work (the trash emptied after its time).
    pub fn system() -> Self {
        Actor {
            user_id: None,
            name: "system".to_owned(),
            address: "server".to_owned(),
        }
    }
}

impl From<&Principal> for Actor {
    fn from(principal: &Principal) -> Self {
        Actor {
            user_id: Some(principal.user_id.clone()),
            name: principal.name.clone(),
            address: principal.address.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::permissions::{default_client, default_staff, need};

    fn principal(kind: UserKind, company: Option<&str>, permissions: PermissionSet) -> Principal {
        Principal {
            user_id: "u".into(),
            name: "U".into(),
            email: "u@example.com".into(),
            kind,
            company_id: company.map(str::to_owned),
            role_id: "r".into(),
            permissions,
            credential: Credential::Session {
                session_id: "s".into(),
            },
            totp_setup_required: false,
            address: "127.0.0.1".into(),
        }
    }

    #[test]
    fn another_company_is_not_found_before_any_permission_is_considered() {
        let client = principal(UserKind::Client, Some("a"), default_client());
        assert_eq!(
            decide(&client, Permission::FilesDownload, Scope::Company("b")),
            Decision::NotFound
        );
        assert_eq!(
            decide(&client, Permission::UsersManage, Scope::Company("b")),
            Decision::NotFound
        );
        assert_eq!(
            decide(&client, Permission::FilesDownload, Scope::Company("a")),
            Decision::Allow
        );
    }

    #[test]
    fn a_client_never_gets_a_staff_permission_even_if_a_role_says_so() {
        let client = principal(UserKind::Client, Some("a"), PermissionSet::all());
        assert_eq!(
            decide(&client, Permission::UsersManage, Scope::Brand),
            Decision::Forbidden
        );
    }

    #[test]
    fn staff_get_what_their_role_holds_and_nothing_else() {
        let staff = principal(UserKind::Staff, None, default_staff());
        assert_eq!(
            decide(&staff, Permission::TasksEdit, Scope::Company("any")),
            Decision::Allow
        );
        assert_eq!(
            decide(&staff, Permission::TasksDelete, Scope::Brand),
            Decision::Forbidden
        );
        assert!(permit::<need::UsersManage>(&staff, Scope::Brand).is_err());
        assert!(permit::<need::TasksEdit>(&staff, Scope::Brand).is_ok());
    }
}
